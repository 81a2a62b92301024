/// <reference path="./cluster-key-slot.d.ts" />
import { join } from 'node:path'
import { CheckFailedError, TemporaryError, answered, assessHealth, describeRedisError, readNodes, renderTable, summarize, throwIfStopped, type NodeAnswer, type NodeClient, type NodeReading, type Stack, type StackNode, waitFor } from '@redis-cluster/core'
import calculateSlot from 'cluster-key-slot'
import { Command } from 'ioredis'
import { RestorePipe, type RestoreItem } from './restore-pipe.ts'
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

/** Keys read (SCAN, then DUMP and PTTL in one script) and written (one RESTORE pipeline per owning master) per round. */
const BATCH = 2000

/**
 * One SCAN step with PTTL and DUMP of each key it found, in one command:
 * per-command overhead in the client, not Redis, bounds the copy, and the
 * scratch server is ours alone (no cluster slot rules, nothing else waits on
 * it). Returns the next cursor, then key, PTTL, payload for each key.
 */
const READ_BATCH = "local scan = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2]) local out = { scan[1] } for _, key in ipairs(scan[2]) do out[#out + 1] = key out[#out + 1] = redis.call('PTTL', key) out[#out + 1] = redis.call('DUMP', key) or '' end return out"

/** Tries of a key whose slot moved or whose cluster was down meanwhile (MOVED, ASK, TRYAGAIN, CLUSTERDOWN): the layout is read again before each. */
const TRIES = 5
const SLOTS = 16384

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
 * REPLACE` on its current owner, batch by batch: the owner of each key's slot
 * is computed here from the live layout (read once, and again after a MOVED),
 * and each owner gets a batch's keys as one pipeline (RestorePipe), so the
 * live slot layout need not match the backup's. REPLACE makes it idempotent:
 * an interrupted restore is finished by running it again. Refuses a backup
 * that fails verification, and an unhealthy cluster unless `force`.
 */
export async function restoreLogical(stack: Stack, dir: string, { force = false, progress = () => {} }: LogicalRestoreOptions = {}): Promise<LogicalRestoreResult> {
  const verified = await verifyBackup(dir)
  if (!verified.good) throw new CheckFailedError(`${dir} fails verification: ${verified.problems.join('; ')}`, 'restore another backup (`pnpm backup:list`)')
  const manifest = await readManifest(dir)
  const readings = await readNodes(stack)
  if (!force) {
    const report = assessHealth(stack, readings)
    if (!report.healthy) throw new CheckFailedError(`the cluster is not healthy: ${summarize(report.problems)}`, 'fix it first (`pnpm status`), or pass --force to restore into it as it is')
  }
  const started = Date.now()
  const owners = new SlotOwners(stack, readings)
  let shards: ShardRestore[]
  try {
    // Shards in parallel: one shard's scratch server loads while another's keys are copied. allSettled:
    // every shard's scratch server is stopped before we return, even when one shard failed.
    const settled = await Promise.allSettled(
      manifest.shards.map(async (shard): Promise<ShardRestore> => {
        const shardStarted = Date.now()
        const restored = await withScratchServer(join(dir, shard.file), (scratch) => copyKeys(scratch, owners))
        const expired = Math.max(0, shard.keys - restored)
        progress(`${shard.file}: ${restored} of ${shard.keys} keys restored${expired ? `, ${expired} expired since the backup` : ''}`)
        return { file: shard.file, expected: shard.keys, restored, expired, durationMs: Date.now() - shardStarted }
      }),
    )
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
    shards = settled.map((r) => (r as PromiseFulfilledResult<ShardRestore>).value)
  } finally {
    owners.close()
  }
  const durationMs = Date.now() - started
  const restored = shards.reduce((n, s) => n + s.restored, 0)
  return { dir, name: manifest.name, restored, expected: manifest.keys, durationMs, keysPerSecond: Math.round(restored / Math.max(durationMs, 1) * 1000), shards }
}

/**
 * Which master owns each slot, as the nodes answered, and one RestorePipe to
 * each (shared by every shard). After a MOVED or CLUSTERDOWN (a failover
 * under load, a reshard) the layout is read again, once for all shards at a
 * time, waiting until every slot has a master again and the masters say the
 * cluster is ok.
 */
class SlotOwners {
  private owners: (StackNode | undefined)[] = []
  private refreshing: Promise<void> | undefined
  private readonly pipes = new Map<StackNode, Promise<RestorePipe>>()

  constructor(private readonly stack: Stack, readings: readonly NodeReading[]) {
    this.set(readings)
  }

  of(slot: number): StackNode | undefined {
    return this.owners[slot]
  }

  pipe(node: StackNode): Promise<RestorePipe> {
    let pipe = this.pipes.get(node)
    if (!pipe) this.pipes.set(node, (pipe = RestorePipe.open(this.stack, node)))
    return pipe
  }

  close(): void {
    for (const pipe of this.pipes.values()) pipe.then((p) => p.close(), () => {})
  }

  refresh(): Promise<void> {
    this.refreshing ??= waitFor(
      async () => {
        const masters = this.set(await readNodes(this.stack))
        const unowned = this.owners.filter(Boolean).length < SLOTS
        const failing = masters.filter((m) => m.info.cluster_state !== 'ok').map((m) => m.node.name)
        return unowned ? 'some slots have no master that answers' : failing.length > 0 ? `${failing.join(', ')} say the cluster is down` : true
      },
      { timeoutMs: this.stack.timeoutMs, what: 'the cluster to have a master for every slot again' },
    ).finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  private set(readings: readonly NodeReading[]): NodeAnswer[] {
    const masters = readings.filter(answered).filter((r) => r.myself.role === 'master' && r.myself.slots.length > 0)
    this.owners = []
    for (const r of masters) for (const { start, end } of r.myself.slots) for (let slot = start; slot <= end; slot++) this.owners[slot] = r.node
    return masters
  }
}

/** Copies every key of the scratch server to its owner; the write of one batch overlaps the read of the next. */
async function copyKeys(scratch: NodeClient, owners: SlotOwners): Promise<number> {
  let restored = 0
  let writing: Promise<void> = Promise.resolve()
  let cursor = '0'
  try {
    do {
      throwIfStopped()
      const reply = (await scratch.sendCommand(new Command('EVAL', [READ_BATCH, 0, cursor, BATCH], { replyEncoding: null }))) as (number | Buffer)[]
      cursor = String(reply[0])
      // PTTL -2 / empty payload: the key expired while we copied; 0: it is expiring (RESTORE's 0 would make it persistent).
      // PTTL -1: no TTL, which RESTORE spells 0.
      const live: RestoreItem[] = []
      for (let i = 1; i < reply.length; i += 3) {
        const pttl = reply[i + 1] as number
        const payload = reply[i + 2] as Buffer
        if ((pttl === -1 || pttl > 0) && payload.length > 0) live.push({ key: reply[i] as Buffer, ttl: pttl === -1 ? 0 : pttl, payload })
      }
      await writing
      writing = write(owners, live).then(() => void (restored += live.length))
      writing.catch(() => {}) // handled where it is awaited; until then, not an unhandled rejection (which would end the process)
    } while (cursor !== '0')
  } catch (error) {
    await writing.catch(() => {}) // its own failure is not the first one
    throw error
  }
  await writing
  return restored
}

/** RESTOREs `items` on their owners, one pipeline each; keys without an owner, or refused as moved or down, go again once the layout was read again. */
async function write(owners: SlotOwners, items: readonly RestoreItem[], tries = TRIES): Promise<void> {
  const groups = new Map<StackNode, RestoreItem[]>()
  const again: RestoreItem[] = []
  for (const item of items) {
    const slot = calculateSlot(item.key)
    const owner = owners.of(slot)
    if (!owner && tries === 1) throw new TemporaryError(`slot ${slot} has no master that answers`, 'check `pnpm status`: a master is down or a slot unassigned; restore when it is healthy (a re-run finishes the restore)')
    if (!owner) again.push(item)
    else if (groups.has(owner)) groups.get(owner)!.push(item)
    else groups.set(owner, [item])
  }
  await Promise.all(
    [...groups].map(async ([owner, group]) => {
      for (const { item, message } of await (await owners.pipe(owner)).restore(group)) {
        if (/^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /.test(message) && tries > 1) again.push(item)
        else throw describeRedisError(owner, Object.assign(new Error(`${message} (key ${JSON.stringify(item.key.toString())})`), { name: 'ReplyError' }), 'restore')
      }
    }),
  )
  if (again.length === 0) return
  await owners.refresh()
  await write(owners, again, tries - 1)
}

export function renderLogicalRestore(result: LogicalRestoreResult): string {
  const rows = result.shards.map((s) => [s.file, String(s.expected), String(s.restored), String(s.expired), `${(s.durationMs / 1000).toFixed(1)}s`])
  const table = renderTable([['RDB', 'BACKUP KEYS', 'RESTORED', 'EXPIRED', 'TIME'], ...rows])
  return `${table}\nrestored ${result.restored} of ${result.expected} keys of ${result.name} in ${(result.durationMs / 1000).toFixed(1)}s (${result.keysPerSecond} keys/s)`
}
