import {
  answered,
  connectNode,
  isEntryOf,
  layoutSwaps,
  parseClusterNodes,
  readNodes,
  waitFor,
  waitForHealthy,
  CheckFailedError,
  TemporaryError,
  type NodeAnswer,
  type NodeReading,
  type NodeSilence,
  type Stack,
  type StackNode,
} from '@redis-cluster/core'
import { resolveNode } from './resolve-node.ts'

/** default: the master hands over with no write lost; force: without the master's consent (it is down); takeover: without a vote either. */
export type FailoverMode = 'default' | 'force' | 'takeover'

export interface FailoverOptions {
  mode?: FailoverMode
  progress?: (line: string) => void
}

export interface FailoverResult {
  /** The node that is master now, and the one it took over from. */
  readonly promoted: string
  readonly demoted: string
  readonly mode: FailoverMode
  readonly elapsedMs: number
  /** False when a node did not answer, so the cluster could not be waited healthy (a forced failover of a dead master). */
  readonly healthy: boolean
}

/** A manual failover that has not happened by then will not: redis gives it 5 s (CLUSTER_MF_TIMEOUT), plus an election. */
const SWAP_TIMEOUT_MS = 20_000

/**
 * Fails over one pair: `ref` names a master (its replica takes over) or a
 * replica (it takes over from its master), by name, index, port or node id.
 * CLUSTER FAILOVER runs on the replica; the master must answer unless `force`
 * or `takeover` is asked (a planned failover without it would wait 5 s and
 * silently give up). Waits until the roles swapped and the cluster is healthy.
 */
export async function failoverNode(stack: Stack, ref: string, { mode = 'default', progress = () => {} }: FailoverOptions = {}): Promise<FailoverResult> {
  const started = performance.now()
  const readings = await readNodes(stack)
  const target = resolveNode(stack, ref, readings)
  const reading = readings[stack.nodes.indexOf(target)]!
  if (!answered(reading)) throw reading.error
  const { replica, master } = pairOf(reading, readings)
  if (!answered(replica)) throw replica.error
  if (mode === 'default') {
    if (!answered(master)) throw new TemporaryError(`${master.error.message}: a planned failover needs the master to answer`, `wait for it, or promote ${replica.node.name} without it: pnpm cluster:failover ${replica.node.name} --force (writes it has not replicated yet are lost)`)
    if (replica.info.master_link_status !== 'up') throw new CheckFailedError(`${replica.node.name} cannot take over: its link to ${master.node.name} is ${replica.info.master_link_status}`, `run \`pnpm cluster:fix\` first, or promote it anyway with --force`)
  }
  await promote(stack, replica, master.node, mode, progress)
  const everyone = readings.every(answered)
  if (everyone) await waitForHealthy(stack)
  return { promoted: replica.node.name, demoted: master.node.name, mode, elapsedMs: Math.round(performance.now() - started), healthy: everyone }
}

/**
 * Puts the spec's layout back after failovers: every spec master that is now
 * the replica of its own spec replica takes its range back with a planned
 * CLUSTER FAILOVER, one pair after another. Every node must answer (a down or
 * paused node is its typed error at once, not a wait) and the cluster must be
 * healthy first: a spec master still syncing cannot take over.
 */
export async function restoreLayout(stack: Stack, { progress = () => {} }: { progress?: (line: string) => void } = {}): Promise<RestoreLayoutResult> {
  // nodes read from the cluster itself (external runtime) carry no spec layout: nothing to put back, nothing to wait for
  if (!stack.nodes.some((n) => n.slots)) return { specLayout: false, swapped: [], remaining: [], elapsedMs: 0 }
  const started = performance.now()
  const silent = (await readNodes(stack)).find((r): r is NodeSilence => !answered(r))
  if (silent) throw silent.error
  let { drift } = await waitForHealthy(stack)
  const readings = await readNodes(stack)
  const swapped: string[] = []
  for (const { master, replica, range } of layoutSwaps(stack, readings.filter(answered))) {
    progress(`${master.node.name}: taking ${range} back from ${replica.node.name}`)
    await promote(stack, master, replica.node, 'default', progress)
    swapped.push(master.node.name)
  }
  if (swapped.length > 0) ({ drift } = await waitForHealthy(stack))
  return { specLayout: true, swapped, remaining: drift, elapsedMs: Math.round(performance.now() - started) }
}

export interface RestoreLayoutResult {
  /** False when the stack has no spec layout to compare with (its nodes were read from the cluster): nothing was done. */
  readonly specLayout: boolean
  /** The spec masters that took their range back. */
  readonly swapped: string[]
  /** Drift no failover can undo (a replica on another master, slots moved by a reshard): said, not touched. */
  readonly remaining: readonly string[]
  readonly elapsedMs: number
}


function pairOf(target: NodeAnswer, readings: readonly NodeReading[]): { replica: NodeReading; master: NodeReading } {
  const answers = readings.filter(answered)
  if (target.myself.role === 'replica') {
    const master = readings.find((r) => (answered(r) ? r.id === target.myself.masterId : target.entries.some((e) => e.id === target.myself.masterId && isEntryOf(e, r.node))))
    if (!master) throw new CheckFailedError(`${target.node.name} replicates ${target.myself.masterId}, which is not a node of this stack`, 'run `pnpm cluster:check`')
    return { replica: target, master }
  }
  const replicas = answers.filter((r) => r.myself.masterId === target.id)
  const silentReplica = readings.find((r) => !answered(r) && target.entries.some((e) => e.masterId === target.id && isEntryOf(e, r.node)))
  const replica = replicas.find((r) => r.info.master_link_status === 'up') ?? replicas[0] ?? silentReplica
  if (!replica) throw new CheckFailedError(`${target.node.name} has no replica to fail over to`, 'attach a replica first (`pnpm cluster:fix` or `pnpm cluster:add-node`)')
  return { replica, master: target }
}

/** CLUSTER FAILOVER on `replica`, then waits until it is master and (if it answers) `master` its replica. */
export async function promote(stack: Stack, replica: NodeAnswer, master: StackNode, mode: FailoverMode, progress: (line: string) => void): Promise<void> {
  const started = performance.now()
  const client = await connectNode(stack, replica.node)
  try {
    progress(`${replica.node.name}: CLUSTER FAILOVER${mode === 'default' ? '' : ` ${mode.toUpperCase()}`} (taking over from ${master.name})`)
    await client.call('CLUSTER', 'FAILOVER', ...(mode === 'default' ? [] : [mode.toUpperCase()]))
    await waitFor(
      async () => {
        const me = parseClusterNodes((await client.cluster('NODES')) as string).find((e) => e.myself)!
        if (me.role !== 'master') return `${replica.node.name} is still a replica`
        if (mode !== 'default') return true
        const old = await connectNode(stack, master, { connectTimeoutMs: 1000, commandTimeoutMs: 2000 })
        try {
          const them = parseClusterNodes((await old.cluster('NODES')) as string).find((e) => e.myself)!
          return them.masterId === replica.id || `${master.name} does not replicate ${replica.node.name} yet`
        } finally {
          old.disconnect()
        }
      },
      { timeoutMs: SWAP_TIMEOUT_MS, what: `${replica.node.name} to take over from ${master.name}`, hint: 'a planned failover needs the master to answer and a majority of masters to vote: check `pnpm cluster:check`; --force promotes without the master' },
    )
    progress(`${replica.node.name}: master now, ${master.name} its replica (${((performance.now() - started) / 1000).toFixed(2)}s)`)
  } finally {
    client.disconnect()
  }
}
