#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { selectRuntime } from '@redis-cluster/compose'
import { fixCluster, renderFix } from '../src/index.ts'

await runScript({
  name: 'cluster:fix',
  description:
    'check, print the plan, repair, check again: finishes half-migrated slots, covers slots no node claims (with their keys), settles slots claimed twice, re-attaches replicas that lost their master link; never asks, never drops a key. Exit 0 healthy after, 1 problems remain, 75 a master owning slots does not answer (start it, or --force) or too few nodes answer',
  flags: {
    force: { type: 'boolean', description: "act although a master owning slots does not answer: its replica takes over (FORCE), or without one its slots are covered empty elsewhere (its keys are lost)" },
    'dry-run': { type: 'boolean', description: 'print the plan, change nothing' },
  },
  lock: true,
  run: async ({ stack, args, progress, notice }) => fixCluster(stack, await selectRuntime(stack, { notice }), { force: args.force, dryRun: args['dry-run'], progress }),
  render: renderFix,
  exitCode: (result) => (result.after.healthy ? 0 : 1),
})
