#!/usr/bin/env tsx
import { UsageError, runScript } from '@redis-cluster/core'
import { describeLogicalRestore, renderLogicalRestore, resolveBackup, restoreLogical } from '../src/index.ts'

await runScript({
  name: 'restore',
  description: "bring the cluster back to a backup's content; --logical: key by key (DUMP/RESTORE REPLACE, TTLs kept) to each key's current owner, onto any slot layout; run it again to finish an interrupted restore",
  positionals: '<dir|name|latest>',
  flags: {
    dir: { type: 'string', description: 'backup directory a name or `latest` is looked up in (default RC_BACKUP_DIR)' },
    logical: { type: 'boolean', description: 'restore key by key through Redis connections (required: the in-place restore is `pnpm restore:physical`)' },
    yes: { type: 'boolean', description: 'really restore (without it: print the plan, exit 2)' },
    force: { type: 'boolean', description: 'restore into a cluster that is not healthy' },
  },
  lock: true,
  run: async ({ stack, args, positionals, progress }) => {
    if (positionals.length !== 1) throw new UsageError('name one backup', 'e.g. `pnpm restore latest --logical --yes`')
    if (!args.logical) throw new UsageError('say which restore: `pnpm restore --logical` (key by key, any layout) or `pnpm restore:physical` (files in place, same layout, local runtime)', 'e.g. `pnpm restore latest --logical --yes`')
    const dir = await resolveBackup(args.dir ?? stack.backup.dir, positionals[0]!)
    if (!args.yes) throw new UsageError(`not restoring without --yes: ${await describeLogicalRestore(stack, dir)}`, 'add --yes to restore')
    return restoreLogical(stack, dir, { force: args.force, progress })
  },
  render: renderLogicalRestore,
})
