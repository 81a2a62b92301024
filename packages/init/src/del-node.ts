import { rmSync } from 'node:fs'
import { CheckFailedError, TemporaryError, UsageError, answered, connectAll, describeFsError, formatRanges, isEntryOf, readAddedNodes, readNodes, writeAddedNodes, type NodeAnswer, type NodeReading, type NodeSilence, type Stack, type StackNode } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { findClusterNode, readCluster, readClusterMap, slotCount } from './_cluster-map.ts'
import { resolveNode } from './resolve-node.ts'

export interface DelNodeOptions {
  /** The node to remove: name, host:port, index, port or node id, as typed. */
  readonly node: string | undefined
  readonly force?: boolean
  readonly progress?: (line: string) => void
  readonly notice?: (line: string) => void
}

export interface DelNodeResult {
  readonly node: string
  /** Its cluster node id; none when no other node knew it (a dead node never joined). */
  readonly id: string | undefined
  readonly forgottenBy: number
  readonly stopped: boolean
  /** false: it did not answer, and was removed by the other nodes' view of it. */
  readonly answered: boolean
}

/** What to remove: the node, the ids the other nodes know it by, and those others. */
interface Removal {
  readonly node: StackNode
  readonly ids: readonly string[]
  readonly others: readonly NodeAnswer[]
}

/**
 * `cluster:del-node NODE`: removes a node added by `cluster:add-node`, only
 * once it owns no slots and no replica follows it: every other node forgets
 * it (CLUSTER FORGET, all within the 60 s in which a forgotten node may not
 * be re-added by gossip), it is reset so it cannot gossip its way back, then
 * the local runtime stops it, deletes its data and drops it from the record.
 * A dead added node (it does not answer, every other node does) is judged by
 * the others' view instead: removed when none of them sees it owning or
 * moving slots, or followed by a replica. The spec's nodes are the compose
 * file's and stay. A cluster this toolkit does not own (external) has no
 * spec nodes: any node may leave on these terms, and its operator stops it.
 */
export async function delNode(stack: Stack, runtime: Runtime, options: DelNodeOptions): Promise<DelNodeResult> {
  if (options.node === undefined) throw new UsageError('name the node to remove', `e.g. pnpm cluster:del-node ${stack.nodes.at(-1)!.name}`)
  const readings = await readNodes(stack)
  const dead = deadTarget(stack, runtime, options.node, readings)
  const removal = dead ? checkDead(dead, readings.filter(answered)) : await checkLive(stack, runtime, options)
  const { node, ids, others } = removal
  options.progress?.(`${node.name}: forgotten by the ${others.length} other nodes${dead ? ' (it does not answer)' : ''}`)
  const clients = await connectAll(stack, others.map((a) => a.node))
  try {
    await Promise.all(clients.map((c, i) => Promise.all(ids.filter((id) => knows(others[i]!, id)).map((id) => c.cluster('FORGET', id)))))
  } finally {
    clients.forEach((c) => c.disconnect())
  }
  if (!dead) {
    const [client] = await connectAll(stack, [node])
    try {
      // HARD: a new id, so it never rejoins as the forgotten node; a replica's copy of its master's data goes with it
      await client!.cluster('RESET', 'HARD')
    } finally {
      client!.disconnect()
    }
  }
  const stopped = await removeNode(stack, runtime, node, options, dead !== undefined)
  return { node: node.name, id: ids[0], forgottenBy: others.length, stopped, answered: !dead }
}

/** A live node: the cluster must be healthy (or --force) and the node must own no slots and have no replica. */
async function checkLive(stack: Stack, runtime: Runtime, options: DelNodeOptions): Promise<Removal> {
  const map = await readCluster(stack)
  const target = findClusterNode(stack, map, options.node!, 'node')
  if (!removable(runtime, target.node)) throw new UsageError(`${target.node.name} is one of the spec's nodes (the compose file's), not an added one`, 'only nodes added by `pnpm cluster:add-node` can be removed')
  if (target.myself.slots.length > 0) {
    throw new CheckFailedError(
      `${target.node.name} still owns ${slotCount(target)} slots (${formatRanges(target.myself.slots)}); removing it would lose them and their keys`,
      `move them off first: \`pnpm cluster:rebalance --weights ${target.node.name}=0\` (or \`pnpm cluster:reshard\`), then run this again`,
    )
  }
  assertNoFollowers(target.node, [target.id], map.answers)
  await readClusterMap(stack, { force: options.force })
  return { node: target.node, ids: [target.id], others: map.answers.filter((a) => a !== target) }
}

/**
 * The named node when it is an added node that does not answer (unreachable
 * or timing out, not refusing our password) while every other node does.
 */
function deadTarget(stack: Stack, runtime: Runtime, given: string, readings: readonly NodeReading[]): StackNode | undefined {
  const silent = readings.filter((r): r is NodeSilence => !answered(r))
  const node = silent[0]?.node
  if (silent.length !== 1 || !(silent[0]!.error instanceof TemporaryError) || !node || !removable(runtime, node)) return undefined
  try {
    return resolveNode(stack, given, readings) === node ? node : undefined
  } catch {
    return undefined // the live path reports the unknown name
  }
}

/**
 * A dead node's slots are known only from the others: forgetting a node that
 * any of them sees owning slots (or with a slot open toward it) would leave
 * those slots uncovered and their keys lost, so that is refused.
 */
function checkDead(node: StackNode, answers: readonly NodeAnswer[]): Removal {
  const selves = new Set(answers.map((a) => a.id))
  const seen = answers.flatMap((a) => a.entries.filter((e) => isEntryOf(e, node) && !selves.has(e.id) && !e.flags.includes('handshake')).map((entry) => ({ by: a, entry })))
  const ids = [...new Set(seen.map((s) => s.entry.id))]
  const owning = seen.find((s) => s.entry.slots.length > 0)
  const open = answers.find((a) => [...a.myself.migrating, ...a.myself.importing].some((o) => ids.includes(o.nodeId)))
  if (owning || open) {
    const why = owning ? `owns slots ${formatRanges(owning.entry.slots)} by ${owning.by.node.name}'s view` : `has a slot open toward it on ${open!.node.name}`
    throw new CheckFailedError(
      `${node.name} does not answer and still ${why}; forgetting it would lose those slots and their keys`,
      `nothing was changed; start it again (\`pnpm run up\` for nodes this toolkit runs), move its slots off (\`pnpm cluster:rebalance --weights ${node.name}=0\`, \`pnpm cluster:fix\` for an open slot), then run this again`,
    )
  }
  assertNoFollowers(node, ids, answers)
  return { node, ids, others: answers.filter((a) => ids.some((id) => knows(a, id))) }
}

function assertNoFollowers(node: StackNode, ids: readonly string[], answers: readonly NodeAnswer[]): void {
  const followers = answers.filter((a) => ids.includes(a.myself.masterId ?? ''))
  if (followers.length > 0) throw new CheckFailedError(`${followers.map((f) => f.node.name).join(', ')} replicate(s) ${node.name}`, `remove them first: pnpm cluster:del-node ${followers[0]!.node.name}`)
}

const knows = (answer: NodeAnswer, id: string) => answer.entries.some((e) => e.id === id)

/** The spec's nodes stay where this toolkit owns the nodes; a cluster it does not own has no spec nodes. */
const removable = (runtime: Runtime, node: StackNode) => node.added === true || !runtime.ownsNodes

/** Local runtime: stops it, deletes its data (its nodes.conf would gossip it back) and drops its record; compose and external: says what is left to do. */
async function removeNode(stack: Stack, runtime: Runtime, node: StackNode, options: DelNodeOptions, dead: boolean): Promise<boolean> {
  if (!runtime.ownsNodes) {
    const after = dead ? 'if it comes back, reset it (CLUSTER RESET HARD) or stop it' : 'it was reset and still runs: stop it'
    options.notice?.(`${node.name} left the cluster; this runtime does not own it: ${after} on its host`)
    return false
  }
  if (runtime.name !== 'local') {
    options.notice?.(`${node.name} left the cluster; remove its service from the compose file, then \`docker compose rm -sf ${node.name}\` and delete its volume`)
    return false
  }
  options.progress?.(`${node.name}: stopping it and deleting its data`)
  await runtime.stop({ ...stack, nodes: [node] }, { purge: false })
  try {
    rmSync(node.dataDir, { recursive: true, force: true })
  } catch (error) {
    throw describeFsError(error, { otherwise: `delete ${node.dataDir} yourself` })
  }
  const record = readAddedNodes(stack.dataDir)
  if ('nodes' in record) writeAddedNodes(stack.dataDir, record.nodes.filter((n) => n.name !== node.name))
  return true
}
