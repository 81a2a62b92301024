import { CheckFailedError, TemporaryError, UsageError, answered, assessHealth, countSlots, readNodes, summarize, waitFor, type NodeAnswer, type NodeSilence, type Stack } from '@redis-cluster/core'

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

/** Reads every node (all must answer) and what is wrong, without judging it yet. */
export async function readCluster(stack: Stack): Promise<ClusterMap> {
  const readings = await readNodes(stack)
  const silent = readings.filter((r): r is NodeSilence => !answered(r))
  if (silent.length > 0) {
    throw new TemporaryError(`not every node answers: ${summarize(silent.map((r) => r.error.message))}`, 'start it (`pnpm run up`) or remove it first; see `pnpm status`')
  }
  const answers = readings.filter(answered)
  const added = answers.filter((a) => a.node.added && a.myself.role === 'master').map((a) => a.node.name)
  const expected = (p: string) => added.some((name) => p.startsWith(`${name}: is a master without slots`) || (p.startsWith(`${name}: master of `) && p.includes('has no replica online')))
  const problems = assessHealth(stack, readings).problems.filter((p) => !expected(p))
  return { answers, masters: answers.filter((a) => a.myself.role === 'master'), problems }
}

/**
 * A node named by the user: stack name (`redis-node-3`), index (`3`),
 * client port (`7003`) or cluster node id (the full 40 characters or a
 * unique prefix of at least 6). Unknown: UsageError naming the choices.
 */
export function findClusterNode(map: ClusterMap, given: string, flag: string): NodeAnswer {
  const exact = map.answers.find((a) => a.node.name === given || `${a.node.index}` === given || `${a.node.port}` === given)
  if (exact) return exact
  const byId = given.length >= 6 && /^[0-9a-f]+$/.test(given) ? map.answers.filter((a) => a.id.startsWith(given)) : []
  if (byId.length === 1) return byId[0]!
  const names = map.answers.map((a) => a.node.name)
  throw new UsageError(`${flag}: unknown node '${given}'`, `name one of ${names.join(', ')} (or its index, port or node id)`)
}

/** A node that must be a master (the source or target of a move). */
export function findMaster(map: ClusterMap, given: string, flag: string): NodeAnswer {
  const node = findClusterNode(map, given, flag)
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
