#!/usr/bin/env tsx
import { UsageError, runScript } from '@redis-cluster/core'
import { drillBackup, renderDrill, resolveBackup } from '../src/index.ts'

await runScript({
  name: 'backup:drill',
  description: "prove a backup restores: restore it into a throwaway local cluster on spare ports, compare every key's name, type, value and TTL presence with the backup's files; PASS or FAIL (exit 1); the live cluster is never touched",
  positionals: '<dir|name|latest>',
  flags: { dir: { type: 'string', description: 'backup directory a name or `latest` is looked up in (default RC_BACKUP_DIR)' } },
  // The stack lock, though the live cluster is not touched: a backup's retention (which holds the lock) must not delete the backup under the drill.
  lock: true,
  // The backup's files and a throwaway cluster only: works while an external cluster is unreachable.
  discover: false,
  run: async ({ stack, args, positionals, progress }) => {
    if (positionals.length !== 1) throw new UsageError('name one backup', 'e.g. `pnpm backup:drill latest`')
    return drillBackup(stack, await resolveBackup(args.dir ?? stack.backup.dir, positionals[0]!), { progress })
  },
  render: renderDrill,
  exitCode: (result) => (result.pass ? 0 : 1),
})
