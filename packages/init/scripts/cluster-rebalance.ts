#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { SLOT_MOVE_FLAGS, rebalance, renderSlotPlan } from '../src/index.ts'

await runScript({
  name: 'cluster:rebalance',
  description: 'give every master (an empty added one too) its weighted share of the slots, moving keys under live writes',
  flags: {
    weights: { type: 'string', description: 'NODE=WEIGHT,... (NODE as in cluster:reshard; others weigh 1; 0 empties a master), e.g. redis-node-0=2' },
    threshold: { type: 'string', description: 'percent a master may be off its share before slots move (default 2)' },
    ...SLOT_MOVE_FLAGS,
  },
  lock: true,
  run: ({ stack, args, progress, notice }) => rebalance(stack, { ...args, dryRun: args['dry-run'], progress, notice }),
  render: renderSlotPlan,
})
