#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { renderSlotPlan, reshard } from '../src/index.ts'

await runScript({
  name: 'cluster:reshard',
  description: 'move K slots with their keys from one master to another, under live writes; refuses an unhealthy cluster',
  flags: {
    from: { type: 'string', description: 'the master giving slots: name, index, port or node id' },
    to: { type: 'string', description: 'the master taking them (same forms)' },
    slots: { type: 'string', description: 'how many slots to move (its highest ones)' },
    pipeline: { type: 'string', description: 'keys per MIGRATE and per round trip (default 1000; redis-cli: 10); lower it for big values' },
    'dry-run': { type: 'boolean', description: 'print the plan, change nothing' },
    force: { type: 'boolean', description: 'move even when the cluster is not healthy (every node must still answer)' },
  },
  lock: true,
  run: ({ stack, args, progress, notice }) => reshard(stack, { ...args, dryRun: args['dry-run'], progress, notice }),
  render: renderSlotPlan,
})
