import {
  CheckFailedError,
  ConfigError,
  TemporaryError,
  answered,
  connectNode,
  currentRun,
  findNode,
  formatBytes,
  parseInfo,
  readNodes,
  waitFor,
  type NodeClient,
  type NodeReading,
  type Stack,
} from '@redis-cluster/core'

export interface RewriteAofOptions {
  /** Only this node: its name (redis-node-N; host:port on the external runtime) or its index. */
  node?: string
  /** One line per step, for humans. */
  progress?: (line: string) => void
  /** What the user must hear even when the run is stopped: a rewrite of ours left running. */
  notice?: (line: string) => void
}

export interface AofRewriteRow {
  readonly node: string
  /** Its role when the run began; absent when it did not answer. */
  readonly role?: 'master' | 'replica'
  /** The master of its shard (itself for a master). */
  readonly shard?: string
  readonly result: 'ok' | 'failed' | 'skipped'
  /** aof_current_size (base + incr files of the multi-part AOF) before, and right after the rewrite. */
  readonly beforeBytes?: number
  readonly afterBytes?: number
  /** aof_base_size after: the new base file alone. */
  readonly baseBytes?: number
  /** From sending BGREWRITEAOF to the node reporting it done. */
  readonly startedAt?: string
  readonly endedAt?: string
  readonly durationMs?: number
  /** What ran on the node first (a BGSAVE, another rewrite) and how long we waited for it. */
  readonly waitedFor?: string
  readonly waitedMs?: number
  /** Why it failed or was skipped, one line naming the node. */
  readonly error?: string
  readonly hint?: string
  /** A rewrite we started may still be running (or scheduled) on the node: it finishes on its own. */
  readonly leftRunning?: boolean
}

export interface AofRewriteResult {
  /** No row failed (skipped rows are nodes without AOF). */
  readonly ok: boolean
  /** In the order they ran. */
  readonly nodes: readonly AofRewriteRow[]
}

/**
 * BGREWRITEAOF on every node of the stack (any number: the external
 * runtime's are discovered from the cluster), or one, one node at a time
 * across the whole cluster: replicas first, then masters. One at a time
 * rather than one per shard in parallel: on the local and compose runtimes
 * all nodes share one machine, where concurrent forks add up in copy-on-write
 * memory and compete for the disk and the two cores that serve clients; on
 * other hosts (external) nodes of several shards may still share one; for a
 * weekly job the second saved is worth nothing. Being serial also makes
 * "never two nodes of a shard at once" true by construction. Replicas go
 * first because their fork stalls no client, and a run stopped halfway has
 * done them.
 *
 * Everything goes over a plain Redis connection (INFO persistence, the
 * `aof_rewrites` counter, BGREWRITEAOF; sizes are INFO's aof_current_size and
 * aof_base_size, never the files), so it works the same on a cluster on
 * other hosts, where the AOF files are out of reach. A node that does not
 * answer, refuses, or whose rewrite fails is a failed row; the others still
 * run. A wrong password is the whole stack's problem: thrown (78).
 */
export async function rewriteAof(stack: Stack, options: RewriteAofOptions = {}): Promise<AofRewriteResult> {
  const only = options.node === undefined ? undefined : findNode(stack, options.node)
  const readings = await readNodes(stack)
  const refused = readings.find((r) => !answered(r) && r.error instanceof ConfigError)
  if (refused && !answered(refused)) throw refused.error
  const names = new Map(readings.filter(answered).map((r) => [r.id, r.node.name]))
  const order = readings.filter((r) => !only || r.node === only).sort((a, b) => rank(a) - rank(b) || a.node.index - b.node.index)
  const nodes: AofRewriteRow[] = []
  for (const reading of order) nodes.push(await rewriteNode(stack, reading, names, options))
  return { ok: nodes.every((n) => n.result !== 'failed'), nodes }
}

/** Replicas, then masters, then nodes that did not answer (their rows only report it). */
const rank = (r: NodeReading) => (!answered(r) ? 2 : r.myself.role === 'replica' ? 0 : 1)

async function rewriteNode(stack: Stack, reading: NodeReading, names: ReadonlyMap<string, string>, options: RewriteAofOptions): Promise<AofRewriteRow> {
  const { node } = reading
  if (!answered(reading)) return { node: node.name, result: 'failed', error: reading.error.message, hint: reading.error.hint }
  const { role, masterId } = reading.myself
  const row = { node: node.name, role, shard: role === 'master' ? node.name : (names.get(masterId ?? '') ?? masterId?.slice(0, 8)) }
  if (reading.info.aof_enabled !== '1') return { ...row, result: 'skipped', error: `${node.name}: appendonly is off, no AOF to rewrite` }
  const run = currentRun()
  if (run && Date.now() >= run.deadline) return { ...row, result: 'failed', error: `${node.name}: not started, the run reached its deadline`, hint: 'raise RC_TIMEOUT_MS' }
  const sent = { maybe: false }
  let client: NodeClient | undefined
  try {
    client = await connectNode(stack, node)
    const { before, waitedFor, waitedMs, startedAt, started } = await startRewrite(client, node.name, stack.timeoutMs, sent, options)
    options.progress?.(`${node.name} (${role}): rewriting its AOF of ${formatBytes(Number(before.aof_current_size))}`)
    const after = await waitForRewrite(client, node.name, Number(before.aof_rewrites), stack.timeoutMs)
    const timing = { startedAt: startedAt.toISOString(), endedAt: new Date().toISOString(), durationMs: Math.round(performance.now() - started), ...(waitedFor ? { waitedFor, waitedMs } : {}) }
    const sizes = { beforeBytes: Number(before.aof_current_size), afterBytes: Number(after.aof_current_size), baseBytes: Number(after.aof_base_size) }
    if (after.aof_last_bgrewrite_status !== 'ok') {
      return { ...row, ...timing, beforeBytes: sizes.beforeBytes, result: 'failed', error: `${node.name}: its AOF rewrite failed (aof_last_bgrewrite_status:${after.aof_last_bgrewrite_status}); its old AOF stays in use`, hint: `free disk space or fix the permissions of its data dir, see its log (\`pnpm logs --node ${node.name}\` where this toolkit runs the nodes, else on its host), then run \`pnpm aof:rewrite --node ${node.name}\`` }
    }
    options.progress?.(`${node.name}: AOF ${formatBytes(sizes.beforeBytes)} -> ${formatBytes(sizes.afterBytes)} in ${timing.durationMs} ms`)
    return { ...row, ...sizes, ...timing, result: 'ok' }
  } catch (error) {
    if (!(error instanceof CheckFailedError || error instanceof TemporaryError) || run?.signal.aborted) {
      if (sent.maybe) options.notice?.(`${node.name}: the AOF rewrite we started may still be running; it finishes on its own (watch aof_rewrite_in_progress in INFO persistence)`)
      throw error
    }
    const left = sent.maybe ? '; the rewrite we started may still be running or scheduled on it: it finishes on its own (watch aof_rewrite_in_progress in INFO persistence)' : ''
    return { ...row, result: 'failed', error: `${error.message.startsWith(node.name) ? '' : `${node.name}: `}${error.message}${left}`, hint: error.hint, ...(sent.maybe ? { leftRunning: true } : {}) }
  } finally {
    client?.disconnect()
  }
}

type Persistence = Record<string, string>

/**
 * INFO persistence. A node that stops answering mid-run (paused, died) ends
 * its wait at once as a failed row: retrying until the deadline would only
 * starve the nodes after it.
 */
async function persistence(client: NodeClient): Promise<Persistence> {
  try {
    return parseInfo(await client.info('persistence'))
  } catch (error) {
    throw error instanceof TemporaryError ? new CheckFailedError(error.message, error.hint) : error
  }
}

/** Why the node cannot start a rewrite now: Redis runs one child at a time. */
function busyWith(info: Persistence): string | undefined {
  if (info.loading === '1' || info.async_loading === '1') return 'loading its dataset'
  if (info.rdb_bgsave_in_progress === '1') return 'a BGSAVE'
  if (info.aof_rewrite_in_progress === '1') return 'another AOF rewrite'
  if (info.aof_rewrite_scheduled === '1') return 'a scheduled AOF rewrite'
  if (info.module_fork_in_progress === '1') return 'a module fork'
  return undefined
}

/**
 * Waits until the node runs no BGSAVE, rewrite or other fork, then sends
 * BGREWRITEAOF. A BGSAVE that Redis starts by itself in between makes the
 * reply "scheduled" (Redis starts ours when the save ends; never both at
 * once); a rewrite it starts by itself makes it refuse, and we wait again.
 */
async function startRewrite(client: NodeClient, name: string, timeoutMs: number, sent: { maybe: boolean }, { progress }: RewriteAofOptions) {
  let waitedFor: string | undefined
  let before: Persistence | undefined
  const waiting = performance.now()
  // When BGREWRITEAOF was sent: the fork comes after, so [sent, seen done] holds the whole rewrite.
  let startedAt = new Date()
  let started = 0
  await waitFor(
    async () => {
      const info = await persistence(client)
      const busy = busyWith(info)
      if (busy) {
        if (waitedFor === undefined) progress?.(`${name}: waiting for ${busy} to finish`)
        waitedFor = busy
        return `it is busy with ${busy}`
      }
      sent.maybe = true
      startedAt = new Date()
      started = performance.now()
      try {
        await client.bgrewriteaof()
      } catch (error) {
        // A reply that never came: it may have started. A refusal: it did not.
        if (error instanceof TemporaryError) throw new CheckFailedError(`${error.message}; it may have started a rewrite`, error.hint)
        sent.maybe = false
        if (/already in progress/i.test((error as Error).message)) return 'another AOF rewrite started meanwhile'
        throw error
      }
      before = info
      return true
    },
    { timeoutMs, intervalMs: 20, what: `${name} to finish what it runs before our AOF rewrite`, hint: 'raise RC_TIMEOUT_MS if its BGSAVE or rewrite is this slow, or find why with `pnpm status`' },
  )
  return { before: before!, waitedFor, waitedMs: Math.round(started - waiting), startedAt, started }
}

/**
 * Done when the node counted a rewrite after ours was sent (`aof_rewrites`
 * counts each one that started: ours, at once or when its schedule comes up)
 * and none is running. Redis 7 then has switched to a new base file and a
 * fresh incr file, and aof_last_bgrewrite_status says whether ours succeeded.
 */
async function waitForRewrite(client: NodeClient, name: string, rewritesBefore: number, timeoutMs: number): Promise<Persistence> {
  let info: Persistence = {}
  await waitFor(
    async () => {
      info = await persistence(client)
      if (Number(info.aof_rewrites) > rewritesBefore && info.aof_rewrite_in_progress === '0') return true
      if (info.aof_rewrite_in_progress === '1') return `its rewrite has run for ${info.aof_current_rewrite_time_sec}s`
      return `our rewrite is scheduled, not started (rdb_bgsave_in_progress:${info.rdb_bgsave_in_progress}, aof_last_bgrewrite_status:${info.aof_last_bgrewrite_status})`
    },
    { timeoutMs, intervalMs: 20, what: `${name}'s AOF rewrite`, hint: 'raise RC_TIMEOUT_MS for a dataset this large, or find why it is slow in its log' },
  )
  return info
}
