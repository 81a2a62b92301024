import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describeFsError } from '@redis-cluster/core'
import { listBackups } from './list.ts'

export interface RetentionPolicy {
  /** Keep this many newest good backups. */
  readonly keep?: number | undefined
  /** Keep good backups younger than this many days. */
  readonly keepDays?: number | undefined
}

const DAY_MS = 86_400_000

/**
 * Deletes the good backups the policy does not keep (both limits apply when
 * both are given), never the newest good one whatever the policy says, and
 * unfinished `.tmp-*` dirs older than a day (a run killed mid-way; a younger
 * one may still be running). Bad backups are left for a human to look at:
 * `list` shows them. Callers run it only after a new backup verified.
 * Returns the names removed.
 */
export async function applyRetention(root: string, { keep, keepDays }: RetentionPolicy, now = Date.now()): Promise<string[]> {
  const entries = await listBackups(root, now)
  const good = entries.filter((b) => b.state === 'good')
  const doomed = [
    ...good.slice(1).filter((b, i) => (keep !== undefined && i + 1 >= keep) || (keepDays !== undefined && b.ageMs > keepDays * DAY_MS)),
    ...entries.filter((b) => b.state === 'partial' && b.ageMs > DAY_MS),
  ]
  for (const b of doomed) {
    try {
      // Renamed first: a deletion cut short leaves a `.tmp-*` dir (cleaned later), never a half backup under its name.
      const gone = b.state === 'partial' ? b.dir : join(root, `.tmp-deleting-${b.name}`)
      if (gone !== b.dir) await rename(b.dir, gone)
      await rm(gone, { recursive: true, force: true })
    } catch (error) {
      throw describeFsError(error)
    }
  }
  return doomed.map((b) => b.name)
}
