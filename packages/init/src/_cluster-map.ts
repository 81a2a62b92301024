import { CheckFailedError, TemporaryError, UsageError, answered, assessHealth, countSlots, readNodes, summarize, waitFor, type NodeAnswer, type NodeSilence, type Problem, type Stack } from '@redis-cluster/core'
import { resolveNode } from './resolve-node.ts'

// The cluster as the maintenance commands (reshard, rebalance, add/del node) see it before they act.

export interface ClusterMap {
  /** Every node of the stack that answered, in stack order. */
  readonly answers: readonly NodeAnswer[]
  /** Those that are masters by their own view (with or without slots). */
  readonly masters: readonly NodeAnswer[]
  /** What core's assessHealth finds wrong, less the states an added node is expected to be in (see readClusterMap). */
  readonly problems: readonly string[]
}

export interface ReadClusterMapOptions {
  /** Act on a cluster that is not healthy (all nodes must still answer). */
  readonly force?: boolean
  /** How long problems may take to clear before they count (default 10 s). */
  readonly settleMs?: number
}

/**
 * Reads every node and refuses to go on unless the cluster is healthy by
 * core's one definition (assessHealth): moving slots on a degraded cluster
 * can strand them. Right after a move (ours or redis-cli's) replicas learn
 * the new owners by gossip, so problems get `settleMs` to clear first. Two
 * states of a master added by `cluster:add-node` are expected and accepted:
 * owning no slots yet (waiting to be rebalanced onto), and owning slots
 * without a replica yet (moving slots on or off it does not make that
 * worse; `cluster:check` still reports it). A node that does not answer is
 * refused even with --force (its view of the slots is unknown): exit 75.
 */
export async function readClusterMap(stack: Stack, { force = false, settleMs = 10_000 }: ReadClusterMapOptions = {}): Promise<ClusterMap> {
  if (force) return readCluster(stack)
  let map: ClusterMap | undefined
  try {
    await waitFor(async () => {
      map = await readCluster(stack)
      return map.problems.length === 0 || summarize(map.problems)
    }, { timeoutMs: settleMs, intervalMs: 100, what: 'a healthy cluster' })
  } catch (error) {
    if (!map) throw error
  }
  if (map!.problems.length > 0) {
    throw new CheckFailedError(`the cluster is not healthy: ${summarize(map!.problems)}`, 'nothing was changed; see `pnpm cluster:check`, repair with `pnpm cluster:fix`, or pass --force to act anyway')
  }
  return map!
}

/**
 * Waits until every node's view of the slot map agrees with the owners'.
 * Only masters are told of a move (SETSLOT NODE); replicas learn it by
 * gossip. A move is done when all agree, so a client or the next command
 * reading any node sees one map.
 */
export async function waitForAgreement(stack: Stack, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => {
    const stale = assessHealth(stack, await readNodes(stack)).details.filter((d) => d.kind === 'views')
    return stale.length === 0 || summarize(stale.map((d) => d.text))
  }, { timeoutMs, intervalMs: 100, what: 'every node to agree on the new slot map' })
}

/** Reads every node (all must answer) and what is wrong, without judging it yet. */
export async function readCluster(stack: Stack): Promise<ClusterMap> {
  const readings = await readNodes(stack)
  const silent = readings.filter((r): r is NodeSilence => !answered(r))
  if (silent.length > 0) {
    throw new TemporaryError(`not every node answers: ${summarize(silent.map((r) => r.error.message))}`, 'start it (`pnpm run up` for nodes this toolkit runs) or remove it first; see `pnpm status`')
  }
  const answers = readings.filter(answered)
  const added = new Set(answers.filter((a) => a.node.added && a.myself.role === 'master').map((a) => a.node.name))
  const expected = (p: Problem) => added.has(p.node) && (p.kind === 'empty-master' || p.kind === 'no-replica')
  const problems = assessHealth(stack, readings).details.filter((p) => !expected(p)).map((p) => p.text)
  return { answers, masters: answers.filter((a) => a.myself.role === 'master'), problems }
}

/** A node of the cluster named by the user (see resolveNode); `flag` says which argument named it. */
export function findClusterNode(stack: Stack, map: ClusterMap, given: string, flag: string): NodeAnswer {
  try {
    const node = resolveNode(stack, given, map.answers)
    // readCluster refuses a cluster where a node is silent, so every stack node has an answer.
    return map.answers.find((a) => a.node === node)!
  } catch (error) {
    throw error instanceof UsageError ? new UsageError(`${flag}: ${error.message}`, error.hint) : error
  }
}

/** A node that must be a master (the source or target of a move). */
export function findMaster(stack: Stack, map: ClusterMap, given: string, flag: string): NodeAnswer {
  const node = findClusterNode(stack, map, given, flag)
  if (node.myself.role !== 'master') {
    const master = map.answers.find((a) => a.id === node.myself.masterId)
    throw new UsageError(`${flag}: ${node.node.name} is a replica${master ? ` of ${master.node.name}` : ''}; slots live on masters`, `name a master: ${map.masters.map((m) => m.node.name).join(', ')}`)
  }
  return node
}

/** The slots a master owns, ascending. */
export function slotsOf(answer: NodeAnswer): number[] {
  return answer.myself.slots.flatMap((r) => Array.from({ length: r.end - r.start + 1 }, (_, i) => r.start + i))
}

export const slotCount = (answer: NodeAnswer) => countSlots(answer.myself.slots)
