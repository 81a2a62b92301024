import { join } from 'node:path'
import { describeFsError, renderPromText, writeFileAtomic, type PromMetric } from '@redis-cluster/core'
import { listBackups } from './list.ts'
import type { BackupResult } from './take-backup.ts'

export const TEXTFILE = 'redis_cluster_backup.prom'

/**
 * Runs one backup and records it for node_exporter's textfile collector in
 * `textfileDir` (when given), success or failure: the last run's result,
 * time and duration, and the last good backup's time, size and keys (on a
 * failed run read from the newest good backup on disk, so the alert on
 * "no success for a day" sees the truth). Written to a temp file and renamed,
 * as the collector may read at any moment.
 */
export async function recordBackupRun(textfileDir: string | undefined, backupRoot: string, take: () => Promise<BackupResult>): Promise<BackupResult> {
  const started = Date.now()
  let result: BackupResult | undefined
  try {
    result = await take()
    return result
  } finally {
    if (textfileDir) {
      const last = result ?? (await listBackups(backupRoot).catch(() => [])).find((b) => b.state === 'good')
      const lines = [
        metric('last_result', 'gauge', '1 when the last backup run succeeded, 0 when it failed', result ? 1 : 0),
        metric('last_run_timestamp_seconds', 'gauge', 'when the last backup run ended', Date.now() / 1000),
        metric('last_run_duration_seconds', 'gauge', 'how long the last backup run took', (Date.now() - started) / 1000),
        ...(last
          ? [
              metric('last_success_timestamp_seconds', 'gauge', 'start time of the newest good backup', Date.parse(last.startedAt) / 1000),
              metric('last_success_size_bytes', 'gauge', 'size of the newest good backup', last.bytes ?? 0),
              metric('last_success_keys', 'gauge', 'keys in the newest good backup', last.keys ?? 0),
            ]
          : []),
      ]
      try {
        await writeFileAtomic(join(textfileDir, TEXTFILE), renderPromText(lines))
      } catch (error) {
        // A run that failed reports its own error; a textfile we could not write must not hide it.
        if (result) throw describeFsError(error, { otherwise: 'point --textfile at another directory' })
      }
    }
  }
}

function metric(name: string, type: PromMetric['type'], help: string, value: number): PromMetric {
  return { name: `redis_cluster_backup_${name}`, type, help, samples: [{ value }] }
}
