import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { CheckFailedError, RcError, formatBytes, renderTable } from '@redis-cluster/core'
import { BACKUP_NAME, readManifest } from './manifest.ts'

export interface BackupEntry {
  readonly name: string
  readonly dir: string
  /** good: manifest intact and every RDB of the size it names; bad: otherwise; partial: an unfinished run's `.tmp-*` dir. */
  readonly state: 'good' | 'bad' | 'partial'
  readonly problem?: string
  /** The backup's start (from its manifest; a directory's mtime for bad and partial ones). */
  readonly startedAt: string
  readonly ageMs: number
  readonly bytes?: number
  readonly keys?: number
}

/**
 * Every backup under `root`, newest first. This is the quick look `list` and
 * retention take: the manifest (with its digest) and each file's size, no
 * sha256 or redis-check-rdb pass over the data (that is `backup:verify`).
 * A root that does not exist yet holds no backups.
 */
export async function listBackups(root: string, now = Date.now()): Promise<BackupEntry[]> {
  let names: string[]
  try {
    names = await readdir(root)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const entries = await Promise.all(
    names.filter((n) => BACKUP_NAME.test(n) || n.startsWith('.tmp-')).map((name) => describeBackup(join(root, name), name, now)),
  )
  return entries.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.name.localeCompare(a.name))
}

async function describeBackup(dir: string, name: string, now: number): Promise<BackupEntry> {
  const { mtime } = await stat(dir)
  const fallback = { name, dir, startedAt: mtime.toISOString(), ageMs: now - mtime.getTime() }
  if (name.startsWith('.tmp-')) return { ...fallback, state: 'partial', problem: 'unfinished run (removed by retention after a day)' }
  try {
    const manifest = await readManifest(dir)
    for (const shard of manifest.shards) {
      const size = await stat(join(dir, shard.file)).then((s) => s.size, () => -1)
      if (size !== shard.bytes) throw new CheckFailedError(size < 0 ? `${shard.file} is missing` : `${shard.file} has ${size} bytes, the manifest says ${shard.bytes}`)
    }
    const startedAt = manifest.startedAt
    return { name, dir, state: 'good', startedAt, ageMs: now - Date.parse(startedAt), bytes: manifest.bytes, keys: manifest.keys }
  } catch (error) {
    if (!(error instanceof RcError)) throw error
    return { ...fallback, state: 'bad', problem: error.message.replace(`${dir}/`, '') }
  }
}

/**
 * The backup directory an argument names: a path, a backup's name under
 * `root`, or `latest` (the newest good one). Restore and the drill take the
 * same argument.
 */
export async function resolveBackup(root: string, which: string): Promise<string> {
  if (which !== 'latest') {
    const asPath = resolve(which)
    return (await stat(asPath).then(() => true, () => false)) ? asPath : join(root, which)
  }
  const good = (await listBackups(root)).find((b) => b.state === 'good')
  if (!good) throw new CheckFailedError(`no good backup in ${root}`, 'take one with `pnpm backup`')
  return good.dir
}

export function renderBackupList(entries: readonly BackupEntry[]): string {
  if (entries.length === 0) return 'no backups'
  const rows = entries.map((b) => [b.name, b.startedAt.replace(/\.\d+Z$/, 'Z'), formatAge(b.ageMs), b.bytes === undefined ? '' : formatBytes(b.bytes), b.keys === undefined ? '' : String(b.keys), b.state === 'good' ? 'good' : `${b.state}: ${b.problem}`])
  return renderTable([['BACKUP', 'TIME', 'AGE', 'SIZE', 'KEYS', 'STATE'], ...rows])
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  if (s < 172_800) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86_400)}d`
}
