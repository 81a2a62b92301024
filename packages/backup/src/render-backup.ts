import { UsageError, formatBytes, formatRanges, renderTable } from '@redis-cluster/core'
import type { BackupResult } from './take-backup.ts'

/** A retention flag's value: a whole number of at least 1 (as RC_BACKUP_KEEP in core's settings), or undefined when not given. */
export function parseCount(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`--${flag} '${value}' is not a whole number of at least 1`, `e.g. --${flag} 7`)
  return Number(value)
}

/** The one line a run logs on stderr (cron keeps it): what was written where, and what retention removed. */
export function summarizeBackup(result: BackupResult): string {
  const removed = result.removed.length ? `; retention removed ${result.removed.join(', ')}` : ''
  return `ok: ${result.shards.length} shards, ${result.keys} keys, ${formatBytes(result.bytes)} in ${(result.durationMs / 1000).toFixed(2)}s -> ${result.dir}${removed}`
}

export function renderBackup(result: BackupResult): string {
  const rows = result.shards.map((s) => [String(s.index), formatRanges(s.slots), s.master.name, `${s.source.name} (${s.source.role})`, String(s.keys), formatBytes(s.bytes), s.sha256.slice(0, 12)])
  return `${renderTable([['SHARD', 'SLOTS', 'MASTER', 'FROM', 'KEYS', 'SIZE', 'SHA256'], ...rows])}\nbackup ${result.dir}: good`
}
