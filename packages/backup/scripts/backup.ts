#!/usr/bin/env tsx
import { resolve } from 'node:path'
import { runScript } from '@redis-cluster/core'
import { parseCount, recordBackupRun, renderBackup, summarizeBackup, takeBackup } from '../src/index.ts'

await runScript({
  name: 'backup',
  description: 'back up every shard from a caught-up replica (masters never fork), verified, into <dir>/<UTC time>/; optional retention',
  flags: {
    dir: { type: 'string', description: 'backup directory (default RC_BACKUP_DIR, or backups/ in the checkout)' },
    keep: { type: 'string', description: 'after the new backup verified, keep only the N newest good ones (default RC_BACKUP_KEEP)' },
    'keep-days': { type: 'string', description: 'after the new backup verified, delete good ones older than D days (default RC_BACKUP_KEEP_DAYS); never the newest good one' },
    'allow-master': { type: 'boolean', description: 'pull a shard without a caught-up replica from its master (it forks)' },
    textfile: { type: 'string', description: 'write redis_cluster_backup.prom for node_exporter into this directory' },
  },
  lock: true,
  run: async ({ stack, args, progress, notice }) => {
    const keep = parseCount('keep', args.keep) ?? stack.backup.keep
    const keepDays = parseCount('keep-days', args['keep-days']) ?? stack.backup.keepDays
    const dir = args.dir ? resolve(args.dir) : stack.backup.dir
    const result = await recordBackupRun(args.textfile, dir, () => takeBackup(stack, { dir, keep, keepDays, allowMaster: args['allow-master'], progress, notice }))
    // The one line per run a cron log keeps (stderr, also under --quiet); a failure is runScript's error line instead.
    process.stderr.write(`backup: ${summarizeBackup(result)}\n`)
    return result
  },
  render: renderBackup,
})
