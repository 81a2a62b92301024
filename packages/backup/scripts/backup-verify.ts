#!/usr/bin/env tsx
import { UsageError, runScript } from '@redis-cluster/core'
import { renderVerify, resolveBackup, verifyBackup } from '../src/index.ts'

await runScript({
  name: 'backup:verify',
  description: "re-check a backup: its manifest, every RDB's size, sha256 and redis-check-rdb validity (exit 1 when bad)",
  positionals: '<dir|name|latest>',
  flags: { dir: { type: 'string', description: 'backup directory a name or `latest` is looked up in (default RC_BACKUP_DIR)' } },
  // Files only: works while an external cluster is unreachable.
  discover: false,
  run: async ({ stack, args, positionals }) => {
    if (positionals.length !== 1) throw new UsageError('name one backup', 'e.g. `pnpm backup:verify latest` or `pnpm backup:verify backups/2026-11-25T18-40-00Z`')
    return verifyBackup(await resolveBackup(args.dir ?? stack.backup.dir, positionals[0]!))
  },
  render: renderVerify,
  exitCode: (result) => (result.good ? 0 : 1),
})
