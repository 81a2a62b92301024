import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CheckFailedError, type SlotRange } from '@redis-cluster/core'
import pkg from '../package.json' with { type: 'json' }

/**
 * What a backup directory holds besides its RDB files, and all that restore
 * and the drill may rely on. `format` changes only when a reader would
 * misread the file; readers refuse a format they do not know.
 */
export const MANIFEST_FORMAT = 1
export const MANIFEST_FILE = 'manifest.json'
export const TOOLKIT_VERSION = `${pkg.name}@${pkg.version}`

export interface NodeRef {
  readonly id: string
  /** The stack's name for it (`redis-node-3`; `host:port` as discovered on the external runtime), or its address when the stack does not list it. */
  readonly name: string
}

export interface ShardManifest {
  readonly index: number
  readonly slots: readonly SlotRange[]
  readonly master: NodeRef
  readonly replicas: readonly NodeRef[]
  /** The node the RDB was pulled from: a replica, or the master only with --allow-master. */
  readonly source: NodeRef & { readonly role: 'master' | 'replica'; readonly address: string }
  /** The replication offset the snapshot is at (the RDB's own `repl-offset` field), and the replication id it belongs to. */
  readonly replOffset: number
  readonly replId: string
  /** Keys in the RDB (redis-check-rdb), and the source's DBSIZE just before and after the pull. */
  readonly keys: number
  readonly keysBefore: number
  readonly keysAfter: number
  readonly file: string
  readonly bytes: number
  readonly sha256: string
}

export interface Manifest {
  readonly format: number
  readonly toolkitVersion: string
  readonly redisVersion: string
  /** The backup's name: its start time, UTC, safe in file names (2026-11-25T18-40-00Z). */
  readonly name: string
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationMs: number
  readonly keys: number
  readonly bytes: number
  readonly shards: readonly ShardManifest[]
  /** sha256 of this JSON without this field: an edited manifest no longer matches it. */
  readonly digest: string
}

/** The manifest with its digest. */
export function sealManifest(manifest: Omit<Manifest, 'digest'>): Manifest {
  return { ...manifest, digest: digestOf(manifest) }
}

function digestOf(manifest: object): string {
  const { digest: _, ...rest } = manifest as { digest?: string }
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex')
}

/**
 * Reads and checks a backup's manifest: present, JSON, a format we know, the
 * fields restore needs, each shard file name a plain name inside the backup,
 * and its digest (so an edited count or checksum is caught, not trusted).
 * CheckFailedError naming the problem otherwise.
 */
export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE)
  const fail = (problem: string) => new CheckFailedError(`${path}: ${problem}`, 'this backup cannot be trusted: use another one (`pnpm backup:list`)')
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw (error as NodeJS.ErrnoException).code === 'ENOENT' ? fail('missing (an incomplete or foreign directory)') : error
  }
  let manifest: Manifest
  try {
    manifest = JSON.parse(text)
  } catch {
    throw fail('not valid JSON')
  }
  if (manifest?.format !== MANIFEST_FORMAT) throw fail(`format ${JSON.stringify(manifest?.format)} is not one this toolkit reads (${MANIFEST_FORMAT})`)
  const problem = shapeProblem(manifest)
  if (problem) throw fail(problem)
  if (manifest.digest !== digestOf(manifest)) throw fail('edited after the backup was taken (its digest does not match its content)')
  return manifest
}

function shapeProblem(m: Manifest): string | undefined {
  for (const field of ['name', 'startedAt', 'finishedAt', 'redisVersion', 'toolkitVersion', 'digest'] as const) if (typeof m[field] !== 'string') return `field ${field} missing`
  if (!Array.isArray(m.shards) || m.shards.length === 0) return 'no shards listed'
  for (const [i, s] of m.shards.entries()) {
    if (typeof s?.file !== 'string' || !/^[\w.-]+\.rdb$/.test(s.file)) return `shard ${i}: bad file name ${JSON.stringify(s?.file)}`
    for (const field of ['keys', 'bytes', 'replOffset'] as const) if (!Number.isSafeInteger(s[field]) || s[field] < 0) return `shard ${i}: field ${field} missing or not a count`
    if (typeof s.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.sha256)) return `shard ${i}: field sha256 missing`
    if (!Array.isArray(s.slots) || typeof s.master?.id !== 'string' || typeof s.source?.id !== 'string') return `shard ${i}: slots, master or source missing`
  }
  return undefined
}

/** A backup's name from its start time: ISO UTC to the second, `:` made `-` so it is a portable file name and sorts by time. */
export function backupName(date: Date): string {
  return `${date.toISOString().slice(0, 19).replaceAll(':', '-')}Z`
}

/** The backup directories `backupName` makes, `-2`... when two start in one second (temp dirs start with `.tmp-`). */
export const BACKUP_NAME = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?$/
