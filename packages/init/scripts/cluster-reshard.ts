#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { SLOT_MOVE_FLAGS, renderSlotPlan, reshard } from '../src/index.ts'

await runScript({
  name: 'cluster:reshard',
  description: 'move K slots with their keys from one master to another, under live writes; refuses an unhealthy cluster',
  flags: {
    from: { type: 'string', description: 'the master giving slots: name, host:port, index, port or node id' },
    to: { type: 'string', description: 'the master taking them (same forms)' },
    slots: { type: 'string', description: 'how many slots to move (its highest ones)' },
    ...SLOT_MOVE_FLAGS,
  },
  lock: true,
  run: ({ stack, args, progress, notice }) => reshard(stack, { ...args, dryRun: args['dry-run'], progress, notice }),
  render: renderSlotPlan,
})
