#!/usr/bin/env tsx
import { UsageError, runScript } from '@redis-cluster/core'
import { planPhysicalRestore, renderPhysicalPlan, renderPhysicalRestore, resolveBackup, restorePhysical } from '../src/index.ts'

await runScript({
  name: 'restore:physical',
  description: "replace the cluster's data with a backup: each shard's RDB placed on its current master (local runtime, same slot layout)",
  positionals: '<dir|name|latest>',
  flags: {
    dir: { type: 'string', description: 'backup directory a name or `latest` is looked up in (default RC_BACKUP_DIR)' },
    yes: { type: 'boolean', description: 'do it: stop every node and replace its data (without it, print the plan and exit 2)' },
    force: { type: 'boolean', description: 'restore even though a node is down (it restarts with its data set aside)' },
  },
  lock: true,
  run: async ({ stack, args, positionals, progress }) => {
    if (positionals.length !== 1) throw new UsageError('name one backup', 'e.g. `pnpm restore:physical latest --yes`')
    const plan = await planPhysicalRestore(stack, await resolveBackup(args.dir ?? stack.backup.dir, positionals[0]!), { force: args.force })
    progress(renderPhysicalPlan(plan))
    if (!args.yes) throw new UsageError('nothing done: this stops every node and replaces all its data', `run again with --yes: pnpm restore:physical ${plan.dir} --yes`)
    return restorePhysical(stack, plan, { progress })
  },
  render: renderPhysicalRestore,
})
