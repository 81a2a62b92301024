#!/usr/bin/env tsx
import { UsageError, runScript } from '@redis-cluster/core'
import { chooseRestore, describeRestore, renderRestore, resolveBackup, runRestore } from '../src/index.ts'

await runScript({
  name: 'restore',
  description: "bring the cluster back to a backup's content: physical (RDBs put in place) when the runtime can place files and the slot layout matches, else logical (key by key to each key's current owner); run it again to finish an interrupted restore",
  positionals: '<dir|name|latest>',
  flags: {
    dir: { type: 'string', description: 'backup directory a name or `latest` is looked up in (default RC_BACKUP_DIR)' },
    physical: { type: 'boolean', description: 'only the physical restore: stop every node, place each shard\'s RDB on its current master (local runtime, same slot layout); fail if it is not possible' },
    logical: { type: 'boolean', description: 'only the logical restore: DUMP/RESTORE REPLACE of every key (TTLs kept) onto any slot layout, through Redis connections' },
    yes: { type: 'boolean', description: 'really restore (without it: print which restore and its plan, exit 2)' },
    force: { type: 'boolean', description: 'restore into a cluster that is not healthy (physical: a down node restarts with its data set aside)' },
  },
  lock: true,
  run: async ({ stack, args, positionals, progress }) => {
    if (positionals.length !== 1) throw new UsageError('name one backup', 'e.g. `pnpm restore latest --yes`')
    if (args.physical && args.logical) throw new UsageError('--physical and --logical exclude each other', 'pass one of them, or neither to let restore choose')
    const dir = await resolveBackup(args.dir ?? stack.backup.dir, positionals[0]!)
    const mode = args.physical ? 'physical' : args.logical ? 'logical' : 'auto'
    const choice = await chooseRestore(stack, dir, { mode, force: args.force })
    progress(await describeRestore(stack, choice))
    if (!args.yes) throw new UsageError(`nothing done: a ${choice.kind} restore ${choice.kind === 'physical' ? 'stops every node and replaces all its data' : 'overwrites every key the backup holds'}`, `run again with --yes: pnpm restore ${dir}${mode === 'auto' ? '' : ` --${mode}`}${args.force ? ' --force' : ''} --yes`)
    return runRestore(stack, choice, { force: args.force, progress })
  },
  render: renderRestore,
})
