import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CheckFailedError, asUser, connectNode, describeFsError, formatRanges, loadZx, readNodes, type Stack } from '@redis-cluster/core'
import { MANIFEST_FILE, MANIFEST_FORMAT, TOOLKIT_VERSION, backupName, sealManifest, type Manifest, type ShardManifest } from './manifest.ts'
import { checkRdb, pullRdb, rdbProblem, sha256File } from './rdb.ts'
import { applyRetention, type RetentionPolicy } from './retention.ts'
import { planShards, type ShardPlan } from './shards.ts'

export interface TakeBackupOptions extends RetentionPolicy {
  /** Where backups go; default the stack's (RC_BACKUP_DIR, `backups/` under the root). */
  readonly dir?: string | undefined
  /** Pull a shard without a caught-up replica from its master (which forks). */
  readonly allowMaster?: boolean | undefined
  readonly progress?: (line: string) => void
  readonly notice?: (line: string) => void
}

export interface BackupResult extends Manifest {
  /** The finished backup's directory. */
  readonly dir: string
  /** Backups retention removed after this one verified. */
  readonly removed: readonly string[]
}

/**
 * One backup of the whole cluster: every shard's RDB pulled in parallel from
 * a caught-up replica (planShards), each checked with redis-check-rdb and its
 * key count held against the source's DBSIZE just before and after the pull.
 * Written into `<dir>/.tmp-<name>-<pid>/` and renamed to `<dir>/<name>/` only
 * when every shard passed, so a directory under a backup's name is always
 * complete. On failure the temp dir is removed (or, if even that fails, left
 * as `.tmp-*` for retention to clean after a day) and the error thrown.
 */
export async function takeBackup(stack: Stack, options: TakeBackupOptions = {}): Promise<BackupResult> {
  const started = new Date()
  const root = options.dir ?? stack.backup.dir
  const { progress = () => {}, notice = () => {} } = options
  // Everything a backup sends to the nodes goes as the backup user: read the cluster, pull each RDB, nothing else.
  const reader = asUser(stack, 'backup')
  // zx (which runs redis-cli and redis-check-rdb) loads while the nodes are read, not after: ~80 ms off the critical path.
  const [readings] = await Promise.all([readNodes(reader), loadZx()])
  const { shards, notices } = planShards(readings, { allowMaster: options.allowMaster })
  notices.forEach(notice)
  // Chosen now, as the manifest names it; under the stack lock no other backup takes it meanwhile.
  const name = await freeName(root, backupName(started))
  const tmp = join(root, `.tmp-${name}-${process.pid}`)
  await fsStep(() => mkdir(tmp, { recursive: true }))
  let taken: ShardManifest[]
  try {
    const results = await Promise.allSettled(shards.map((shard) => backUpShard(reader, shard, tmp, progress)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
    taken = results.map((r) => (r as PromiseFulfilledResult<ShardManifest>).value)
  } catch (error) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {})
    throw error
  }
  const finished = new Date()
  const manifest = sealManifest({
    format: MANIFEST_FORMAT,
    toolkitVersion: TOOLKIT_VERSION,
    redisVersion: shards[0]!.source.info.redis_version ?? 'unknown',
    name,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    keys: taken.reduce((n, s) => n + s.keys, 0),
    bytes: taken.reduce((n, s) => n + s.bytes, 0),
    shards: taken,
  })
  const dir = await fsStep(async () => {
    try {
      await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`)
      // On disk before the rename makes it look complete: a crash must not leave a named backup of empty files.
      // (each RDB was synced as soon as it was pulled)
      await Promise.all([MANIFEST_FILE, '.'].map((f) => syncPath(join(tmp, f))))
      await rename(tmp, join(root, name))
      await syncPath(root)
      return join(root, name)
    } catch (error) {
      await rm(tmp, { recursive: true, force: true }).catch(() => {})
      throw error
    }
  })
  const removed = options.keep || options.keepDays ? await applyRetention(root, options) : []
  return { ...manifest, dir, removed }
}

async function backUpShard(stack: Stack, shard: ShardPlan, tmp: string, progress: (line: string) => void): Promise<ShardManifest> {
  const { node } = shard.source
  const file = `shard-${shard.index}.rdb`
  const path = join(tmp, file)
  const client = await connectNode(stack, node)
  let keysBefore: number
  let keysAfter: number
  try {
    progress(`shard ${shard.index} (slots ${formatRanges(shard.slots)}): pulling from ${node.name} (${shard.sourceRole})`)
    keysBefore = await client.dbsize()
    const pulling = performance.now()
    await pullRdb(stack, node, path)
    keysAfter = await client.dbsize()
    progress(`shard ${shard.index}: pulled in ${((performance.now() - pulling) / 1000).toFixed(2)}s, checking`)
  } finally {
    client.disconnect()
  }
  // The fsync overlaps the check and the other shards' pulls instead of queueing after all of them.
  const [check, sha256, { size }] = await Promise.all([checkRdb(path), sha256File(path), stat(path), fsStep(() => syncPath(path))])
  if (!check.ok) throw rdbProblem(`${node.name} -> ${file}`, check)
  // Idle: equal. Under writes the snapshot lies between the two samples.
  if (check.keys < Math.min(keysBefore, keysAfter) || check.keys > Math.max(keysBefore, keysAfter)) {
    throw new CheckFailedError(`shard ${shard.index}: the RDB from ${node.name} holds ${check.keys} keys, the node had ${keysBefore} before and ${keysAfter} after the pull`, 'run the backup again; if it repeats, check the node (`pnpm status`)')
  }
  progress(`shard ${shard.index}: ${size} bytes, ${check.keys} keys, checked`)
  const source = { id: shard.source.id, name: node.name, role: shard.sourceRole, address: `${node.host}:${node.port}` }
  return { index: shard.index, slots: shard.slots, master: shard.master, replicas: shard.replicas, source, replOffset: check.replOffset, replId: check.replId, keys: check.keys, keysBefore, keysAfter, file, bytes: size, sha256 }
}

/** `name`, or `name-2`, `name-3`... when a backup already took that second. */
async function freeName(root: string, name: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name}-${n}`
    if (await stat(join(root, candidate)).then(() => false, () => true)) return candidate
  }
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** A filesystem step of the backup: its errors typed, with the other way out named. */
async function fsStep<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    throw describeFsError(error, { otherwise: 'choose another directory with --dir or RC_BACKUP_DIR' })
  }
}
