import { join } from 'node:path'
import { CheckFailedError, assessHealth, connectCluster, describeRedisError, readNodes, renderTable, summarize, throwIfStopped, type NodeClient, type Stack } from '@redis-cluster/core'
import { Command, type Cluster } from 'ioredis'
import { readManifest, type Manifest } from './manifest.ts'
import { withScratchServer } from './scratch-server.ts'
import { verifyBackup } from './verify.ts'

export interface LogicalRestoreOptions {
  /** Restore into a cluster that is not healthy (keys owned by a down master fail the run). */
  readonly force?: boolean
  readonly progress?: (line: string) => void
}

export interface ShardRestore {
  readonly file: string
  /** Keys the manifest counted at backup time. */
  readonly expected: number
  readonly restored: number
  /** Keys whose TTL ran out since the backup: Redis drops them on load, or they expired during the copy. */
  readonly expired: number
  readonly durationMs: number
}

export interface LogicalRestoreResult {
  readonly dir: string
  readonly name: string
  readonly restored: number
  readonly expected: number
  readonly durationMs: number
  readonly keysPerSecond: number
  readonly shards: readonly ShardRestore[]
}

/** Keys read and written per round trip batch. */
const BATCH = 1000

/**
 * PTTL and DUMP of a batch of keys in one command: per-command overhead in
 * the client, not Redis, bounds the copy, and the scratch server is ours
 * alone (no cluster slot rules, nothing else waits on it).
 */
const READ_BATCH = "local out = {} for i, key in ipairs(KEYS) do out[2 * i - 1] = redis.call('PTTL', key) out[2 * i] = redis.call('DUMP', key) or '' end return out"

/** What a logical restore of `dir` would do, for the plan printed without --yes. */
export async function describeLogicalRestore(stack: Stack, dir: string): Promise<string> {
  const manifest: Manifest = await readManifest(dir)
  const shards = manifest.shards.map((s) => `${s.file} (${s.keys} keys)`).join(', ')
  return `would restore backup ${manifest.name} (${manifest.keys} keys: ${shards}) into the cluster at ${stack.nodes.map((n) => `${n.host}:${n.port}`).join(', ')}, key by key (DUMP/RESTORE REPLACE, TTLs kept); keys the backup does not hold are left as they are`
}

/**
 * Brings the backup's keys back into the live cluster over plain Redis
 * connections: each shard's RDB is loaded into a scratch redis-server, and
 * every key is copied with DUMP + PTTL there and `RESTORE key ttl payload
 * REPLACE` on the cluster, batch by batch with every command of a batch in
 * flight at once. The cluster client sends each key to its current owner
 * (following MOVED), so the live slot layout need not match the backup's.
 * REPLACE makes it idempotent: an interrupted restore is finished by
 * running it again. Refuses a backup that fails verification, and an
 * unhealthy cluster unless `force`.
 */
export async function restoreLogical(stack: Stack, dir: string, { force = false, progress = () => {} }: LogicalRestoreOptions = {}): Promise<LogicalRestoreResult> {
  const verified = await verifyBackup(dir)
  if (!verified.good) throw new CheckFailedError(`${dir} fails verification: ${verified.problems.join('; ')}`, 'restore another backup (`pnpm backup:list`)')
  const manifest = await readManifest(dir)
  if (!force) {
    const report = assessHealth(stack, await readNodes(stack))
    if (!report.healthy) throw new CheckFailedError(`the cluster is not healthy: ${summarize(report.problems)}`, 'fix it first (`pnpm status`), or pass --force to restore into it as it is')
  }
  const started = Date.now()
  const cluster = connectCluster(stack)
  // Auto-pipelining: a batch's RESTOREs go to each owner in a few writes, not one write per key.
  cluster.options.enableAutoPipelining = true
  let shards: ShardRestore[]
  try {
    // Shards in parallel: one shard's scratch server loads while another's keys are copied. allSettled:
    // every shard's scratch server is stopped before we return, even when one shard failed.
    const settled = await Promise.allSettled(
      manifest.shards.map(async (shard): Promise<ShardRestore> => {
        const shardStarted = Date.now()
        const restored = await withScratchServer(join(dir, shard.file), (scratch) => copyKeys(scratch, cluster, stack))
        const expired = Math.max(0, shard.keys - restored)
        progress(`${shard.file}: ${restored} of ${shard.keys} keys restored${expired ? `, ${expired} expired since the backup` : ''}`)
        return { file: shard.file, expected: shard.keys, restored, expired, durationMs: Date.now() - shardStarted }
      }),
    )
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
    shards = settled.map((r) => (r as PromiseFulfilledResult<ShardRestore>).value)
  } finally {
    cluster.disconnect()
  }
  const durationMs = Date.now() - started
  const restored = shards.reduce((n, s) => n + s.restored, 0)
  return { dir, name: manifest.name, restored, expected: manifest.keys, durationMs, keysPerSecond: Math.round(restored / Math.max(durationMs, 1) * 1000), shards }
}

/** Copies every key of the scratch server into the cluster; the write of one batch overlaps the read of the next. */
async function copyKeys(scratch: NodeClient, cluster: Cluster, stack: Stack): Promise<number> {
  let restored = 0
  let writing: Promise<void> = Promise.resolve()
  let cursor = '0'
  try {
    do {
      throwIfStopped()
      const [next, keys] = await scratch.scanBuffer(cursor, 'COUNT', BATCH)
      cursor = String(next)
      const reply = keys.length ? ((await scratch.sendCommand(new Command('EVAL', [READ_BATCH, keys.length, ...keys], { replyEncoding: null }))) as (number | Buffer)[]) : []
      // PTTL -2 / empty payload: the key expired while we copied; 0: it is expiring (RESTORE's 0 would make it persistent).
      const live = keys.map((key, i) => [key, reply[2 * i] as number, reply[2 * i + 1] as Buffer] as const).filter(([, pttl, payload]) => (pttl === -1 || pttl > 0) && payload.length > 0)
      await writing
      writing = Promise.all(
        // PTTL -1: no TTL, which RESTORE spells 0.
        live.map(([key, pttl, payload]) => restoreKey(cluster, key, pttl === -1 ? 0 : pttl, payload)),
      ).then(
        () => void (restored += live.length),
        (error) => {
          throw describeRedisError(clusterSubject(stack), error, 'restore')
        },
      )
    } while (cursor !== '0')
  } catch (error) {
    await writing.catch(() => {}) // its own failure is not the first one
    throw error
  }
  await writing
  return restored
}

/**
 * RESTORE on the key's owner. Auto-pipelining finds a key's slot from the key
 * as a string, so a key whose bytes are not valid UTF-8 would be grouped with
 * the wrong owner: such keys go as a plain command (routed by its bytes).
 */
function restoreKey(cluster: Cluster, key: Buffer, ttl: number, payload: Buffer): Promise<unknown> {
  if (Buffer.from(key.toString()).equals(key)) return cluster.restore(key, ttl, payload, 'REPLACE')
  return cluster.sendCommand(new Command('restore', [key, ttl, payload, 'REPLACE'])) as Promise<unknown>
}

const clusterSubject = (stack: Stack) => ({ name: 'the cluster', host: stack.nodes[0]!.host, port: stack.nodes[0]!.port })

export function renderLogicalRestore(result: LogicalRestoreResult): string {
  const rows = result.shards.map((s) => [s.file, String(s.expected), String(s.restored), String(s.expired), `${(s.durationMs / 1000).toFixed(1)}s`])
  const table = renderTable([['RDB', 'BACKUP KEYS', 'RESTORED', 'EXPIRED', 'TIME'], ...rows])
  return `${table}\nrestored ${result.restored} of ${result.expected} keys of ${result.name} in ${(result.durationMs / 1000).toFixed(1)}s (${result.keysPerSecond} keys/s)`
}
