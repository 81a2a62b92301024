#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { listBackups, renderBackupList } from '../src/index.ts'

await runScript({
  name: 'backup:list',
  description: 'the backups in the backup directory, newest first: time, age, size, keys, good/bad (quick check; deep check: backup:verify)',
  flags: { dir: { type: 'string', description: 'backup directory (default RC_BACKUP_DIR, or backups/ in the checkout)' } },
  // Files only: works while an external cluster is unreachable.
  discover: false,
  run: ({ stack, args }) => listBackups(args.dir ?? stack.backup.dir),
  render: renderBackupList,
})
