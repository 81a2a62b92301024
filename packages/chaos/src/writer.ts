import { setTimeout as sleep } from 'node:timers/promises'
import type { Cluster } from 'ioredis'
import { connectCluster, type Stack } from '@redis-cluster/core'

/** One write: which key, the value it set (that key's counter), when it was sent and answered (performance.now ms), and whether it was acknowledged. */
export interface WriteRecord {
  readonly key: number
  readonly seq: number
  readonly sentAt: number
  readonly doneAt: number
  readonly ok: boolean
}

export interface WriterOptions {
  /** Key names are `<prefix><n>`, n < keys; the keys spread over all slots. */
  readonly prefix: string
  readonly keys: number
  /** Writes in flight; each worker owns its own keys, so one key's writes never overlap. */
  readonly concurrency: number
  /** `WAIT 1 <ms>` after each SET, on the slot's master: a write counts as acknowledged only once a replica has it. */
  readonly waitReplicasMs?: number
  /** Bounds: the writer stops by itself after this many writes or this long. */
  readonly maxWrites: number
  readonly maxMs: number
}

export interface Writer {
  /** Writes so far, in the order they finished. */
  readonly log: readonly WriteRecord[]
  /** Stops sending, waits for the writes in flight, closes the client; returns the log. */
  stop(): Promise<readonly WriteRecord[]>
}

/**
 * A write that has not answered by then counts as failed and its worker moves
 * on: a paused master never answers, and a worker stuck on it for the
 * client's 5 s command timeout would stall every other slot's writes too.
 * Well above a write's latency on a loaded 2-core machine (a few ms).
 */
export const WRITE_TIMEOUT_MS = 1000
/** A failed write waits this long before the next one, so a down cluster is not hammered. */
const RETRY_PAUSE_MS = 10
/**
 * ioredis learns a new master only from a MOVED or a slot refresh (every 5 s
 * by default); a paused master sends no MOVED. Refreshing this often is what
 * a production client with a short `slotsRefreshInterval` does, and it keeps
 * the measured recovery within this much of the real promotion.
 */
const SLOT_REFRESH_MS = 20
/**
 * A refresh asks the nodes in random order and gives each this long: at
 * core's 2 s, one that picked a paused node would hide a promotion for 2 s.
 */
const SLOT_REFRESH_TIMEOUT_MS = 250

/**
 * A bounded, steady stream of SETs through an ioredis Cluster (following
 * MOVED/ASK), every one recorded with its outcome and time. A client that gave
 * up (every node down, as in restart-all) is replaced by a new one.
 */
export function startWriter(stack: Stack, options: WriterOptions): Writer {
  const log: WriteRecord[] = []
  const counters = new Array<number>(options.keys).fill(0)
  const started = performance.now()
  let stopping = false
  const connect = () => {
    const client = connectCluster(stack)
    client.options.slotsRefreshTimeout = SLOT_REFRESH_TIMEOUT_MS
    client.on('error', () => {}) // each failed write is recorded; the client's own errors add nothing
    return client
  }
  let cluster = connect()
  const client = (): Cluster => {
    if (cluster.status === 'end' && !stopping) cluster = connect()
    return cluster
  }
  const refresher = setInterval(() => {
    if (cluster.status === 'ready') cluster.refreshSlotsCache()
  }, SLOT_REFRESH_MS)
  const done = () => stopping || log.length >= options.maxWrites || performance.now() - started >= options.maxMs

  const worker = async (w: number) => {
    for (let key = w; !done(); key = key + options.concurrency < options.keys ? key + options.concurrency : w) {
      const seq = ++counters[key]!
      const sentAt = performance.now()
      const ok = await writeOnce(client(), `${options.prefix}${key}`, seq, options.waitReplicasMs)
      log.push({ key, seq, sentAt, doneAt: performance.now(), ok })
      if (!ok) await sleep(RETRY_PAUSE_MS)
    }
  }
  const workers = Promise.all(Array.from({ length: Math.min(options.concurrency, options.keys) }, (_, w) => worker(w)))
  return {
    log,
    async stop() {
      stopping = true
      await workers
      clearInterval(refresher)
      cluster.disconnect()
      return log
    },
  }
}

/** True when the write was acknowledged (and, with waitReplicasMs, reached a replica) within WRITE_TIMEOUT_MS. */
async function writeOnce(cluster: Cluster, key: string, seq: number, waitReplicasMs: number | undefined): Promise<boolean> {
  // WAIT has no key: in one pipeline with the SET it goes to the SET's slot master, on the same connection.
  const write = waitReplicasMs === undefined
    ? cluster.set(key, `${seq}`).then((reply) => reply === 'OK')
    : cluster.pipeline().set(key, `${seq}`).call('WAIT', '1', `${waitReplicasMs}`).exec().then((replies) => {
      const [[setError, set] = [], [waitError, replicas] = []] = replies ?? []
      return !setError && !waitError && set === 'OK' && Number(replicas) >= 1
    })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), WRITE_TIMEOUT_MS)))
  try {
    return await Promise.race([write.catch(() => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Reads every written key back and counts the acknowledged writes it lost:
 * one whose key is gone, or holds an older value than that write set.
 * Returns the lost writes.
 */
export async function findLostWrites(stack: Stack, prefix: string, log: readonly WriteRecord[]): Promise<WriteRecord[]> {
  const acked = log.filter((w) => w.ok)
  const keys = [...new Set(acked.map((w) => w.key))]
  const values = new Map<number, number>()
  const cluster = connectCluster(stack)
  try {
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500)
      const read = await Promise.all(batch.map((key) => cluster.get(`${prefix}${key}`)))
      batch.forEach((key, j) => values.set(key, Number(read[j] ?? 0)))
    }
    // The drill's keys are its own (a fresh prefix): delete them, so drills leave no data behind.
    for (let i = 0; i < keys.length; i += 500) await Promise.all(keys.slice(i, i + 500).map((key) => cluster.del(`${prefix}${key}`)))
  } finally {
    cluster.disconnect()
  }
  return acked.filter((w) => w.seq > values.get(w.key)!)
}
