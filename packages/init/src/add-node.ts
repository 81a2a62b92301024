import { CheckFailedError, UsageError, connectNode, describeSubject, loadStack, parseClusterNodes, parseInfo, parseSeed, readAddedNodes, waitFor, withNodes, writeAddedNodes, type NodeClient, type Stack, type StackNode } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { findMaster, readClusterMap, type ClusterMap } from './_cluster-map.ts'
import { parseWhole, type SlotPlanResult } from './move-slots.ts'
import { rebalance } from './rebalance.ts'

export interface AddNodeOptions {
  /** Local runtime: start a new node on this client port (as typed). */
  readonly port?: string
  /** Its cluster-bus port (default port + 10000). */
  readonly busPort?: string
  /** A node that runs already: declared in the stack (a compose service marked REDIS_ADDED, or an interrupted add), or on the external runtime any empty node, as host:port. */
  readonly node?: string
  /** Add it as a replica of this master; else as an empty master. */
  readonly replicaOf?: string
  /** After adding a master, move its share of the slots onto it. */
  readonly rebalance?: boolean
  readonly pipeline?: string
  readonly progress?: (line: string) => void
  readonly notice?: (line: string) => void
}

export interface AddNodeResult {
  readonly node: string
  readonly host: string
  readonly port: number
  readonly role: 'master' | 'replica'
  readonly replicaOf?: string
  readonly started: boolean
  readonly rebalanced?: SlotPlanResult
}

/**
 * `cluster:add-node`: joins a new, empty node to the healthy cluster as an
 * empty master or as a replica of a named master. On the local runtime it
 * records the node (`<data dir>/added-nodes.json`, which loadStack merges
 * into the Stack) before starting it with the stack's config, so `up`,
 * `down`, `status` and backups know it from then on; on compose the node is
 * a service added to the compose file (see README). On a runtime that does
 * not own its nodes (external) the node was started on its host by whoever
 * runs it and is named by host:port; the next command finds it in the
 * cluster. A node that already knows other nodes, owns slots or holds keys
 * is refused unchanged.
 */
export async function addNode(stack: Stack, runtime: Runtime, options: AddNodeOptions): Promise<AddNodeResult> {
  const { progress } = options
  const declared = runtime.ownsNodes ? declaredNode(stack, options.node) : externalNode(stack, options)
  const others = { ...stack, nodes: stack.nodes.filter((n) => n !== declared) }
  const map = await readClusterMap(others)
  const master = options.replicaOf === undefined ? undefined : findMaster(stack, map, options.replicaOf, '--replica-of')
  if (master && master.myself.slots.length === 0) throw new UsageError(`--replica-of: ${master.node.name} owns no slots`, 'replicate a master that owns slots')
  const role = master ? `replica-of ${master.node.name}` : 'master'
  const withNode = !declared ? recordNode(stack, runtime, options, role) : stack.nodes.includes(declared) ? stack : withNodes(stack, [...stack.nodes, declared])
  const node = withNode.nodes.find((n) => n.name === (declared?.name ?? withNode.nodes.at(-1)!.name))!
  let started = false
  if (!declared) {
    progress?.(`starting ${node.name} on port ${node.port}`)
    try {
      started = (await runtime.start(withNode, { progress })).started.includes(node.name)
    } catch (error) {
      forgetRecord(stack, node.name)
      throw error
    }
  }
  const client = await connectNode(withNode, node)
  try {
    await assertEmpty(client, node).catch(async (error) => {
      if (started) await runtime.stop({ ...withNode, nodes: [node] }, { purge: true })
      if (!declared) forgetRecord(stack, node.name)
      throw error
    })
    progress?.(`${node.name}: meeting the ${map.answers.length} nodes of the cluster`)
    const meets = client.pipeline()
    for (const peer of map.answers) meets.call('CLUSTER', 'MEET', runtime.clusterAddress(peer.node), peer.node.port, peer.node.busPort)
    await meets.exec()
    await waitForMembers(withNode, client, map)
    if (master) {
      progress?.(`${node.name}: replicates ${master.node.name}`)
      await client.cluster('REPLICATE', master.id)
    }
  } finally {
    client.disconnect()
  }
  // Gossip spreads the new node's role to every view; health (with the new empty master accepted) says when.
  await readClusterMap(withNode, { settleMs: withNode.timeoutMs })
  const result = { node: node.name, host: node.host, port: node.port, role: master ? ('replica' as const) : ('master' as const), replicaOf: master?.node.name, started }
  if (master) return result
  if (!options.rebalance) {
    options.notice?.(`${node.name} owns no slots yet: \`pnpm cluster:rebalance\` moves its share onto it; give it a replica with \`pnpm cluster:add-node ${runtime.ownsNodes ? '--port P' : '--node HOST:PORT'} --replica-of ${node.name}\``)
    return result
  }
  return { ...result, rebalanced: await rebalance(withNode, { pipeline: options.pipeline, progress, notice: options.notice }) }
}

/** A node declared in the stack (compose service marked REDIS_ADDED, or an interrupted add) named by --node. */
function declaredNode(stack: Stack, name: string | undefined): StackNode | undefined {
  if (name === undefined) return undefined
  const node = stack.nodes.find((n) => n.name === name)
  if (!node?.added) throw new UsageError(`--node: ${name} is not a node added to this stack`, 'on compose, add its service to the compose file with REDIS_ADDED (see README); on the local runtime use --port')
  return node
}

/**
 * The node `--node HOST:PORT` names on a runtime that starts no node: an
 * empty, cluster-enabled node its operator started. Only its address is
 * known before it joins; the cluster tells its bus port afterwards (MEET is
 * sent from it to the others, whose bus ports the cluster gave us).
 */
function externalNode(stack: Stack, { node, port }: AddNodeOptions): StackNode {
  const example = 'e.g. pnpm cluster:add-node --node 10.0.0.7:6379 (an empty node started with cluster-enabled yes on its host)'
  if (port !== undefined) throw new UsageError('--port starts a node, and this runtime starts none: the nodes run on their own hosts', `start an empty node there, then name it: ${example}`)
  if (node === undefined) throw new UsageError('--node HOST:PORT is required: the running, empty node to join', example)
  const address = parseSeed(node)
  if (!address) throw new UsageError(`--node '${node}' is not host:port`, example)
  const member = stack.nodes.find((n) => n.name === node || (n.host === address.host && n.port === address.port))
  if (member) throw new UsageError(`--node: ${member.name} is a node of the cluster already`, `name a node that is not in it yet; see \`pnpm status\``)
  return { index: stack.nodes.length, name: node, port: address.port, busPort: address.port + 10000, host: address.host, clusterIp: undefined, role: 'master', masterIndex: undefined, slots: undefined, dataDir: '', remote: true, added: true }
}

/** Writes the new node into the local record and returns the stack as loadStack now sees it. */
function recordNode(stack: Stack, runtime: Runtime, options: AddNodeOptions, role: string): Stack {
  if (options.port === undefined) throw new UsageError('--port is required (or --node NAME for a node declared in the compose file)', 'e.g. pnpm cluster:add-node --port 7006')
  if (runtime.name !== 'local') throw new UsageError(`--port starts a node on the local runtime only (this stack runs on ${runtime.name})`, 'add a service to the compose file with REDIS_ADDED (see README), start it, then pass --node NAME')
  const port = parseWhole('port', options.port, { min: 1, max: 65535 })!
  const busPort = parseWhole('bus-port', options.busPort, { min: 1, max: 65535 }) ?? port + 10000
  const taken = stack.nodes.find((n) => [n.port, n.busPort].some((p) => p === port || p === busPort))
  if (taken || port === busPort || busPort > 65535) {
    const hint = taken?.added ? `${taken.name} was added on it: finish adding it with --node ${taken.name}` : 'pick ports no node of the stack uses (--bus-port sets the bus port)'
    throw new UsageError(`--port ${port} / bus port ${busPort}: ${taken ? `used by ${taken.name}` : 'not two free ports'}`, hint)
  }
  const name = `redis-node-${Math.max(...stack.nodes.map((n) => n.index)) + 1}`
  const record = readAddedNodes(stack.dataDir)
  writeAddedNodes(stack.dataDir, [...('nodes' in record ? record.nodes : []), { name, port, busPort, role }])
  return loadStack({ cwd: stack.root, env: stack.env })
}

function forgetRecord(stack: Stack, name: string): void {
  const record = readAddedNodes(stack.dataDir)
  if ('nodes' in record) writeAddedNodes(stack.dataDir, record.nodes.filter((n) => n.name !== name))
}

/** A node that knows other nodes, owns slots or holds keys belongs to something else: adding it would merge or lose data. */
async function assertEmpty(client: NodeClient, node: StackNode): Promise<void> {
  const known = parseClusterNodes((await client.cluster('NODES')) as string)
  const keys = await client.dbsize()
  const slots = known.find((e) => e.myself)?.slots.length ?? 0
  const found = [known.length > 1 && `knows ${known.length - 1} other node(s): it is in a cluster`, slots > 0 && 'owns slots', keys > 0 && `holds ${keys} key(s)`].filter(Boolean)
  if (found.length === 0 && parseInfo((await client.info('replication')) as string).role === 'master') return
  throw new CheckFailedError(`${describeSubject(node)} is not an empty node: it ${found.join(', ') || 'replicates another node'}`, 'nothing was changed; add an empty node (a fresh data dir), or empty this one yourself if its data is not needed')
}

/** Until the new node and every node of the cluster know each other (handshakes done). */
async function waitForMembers(stack: Stack, client: NodeClient, map: ClusterMap): Promise<void> {
  const ids = map.answers.map((a) => a.id)
  await waitFor(
    async () => {
      const known = parseClusterNodes((await client.cluster('NODES')) as string).filter((e) => !e.flags.includes('handshake'))
      const missing = ids.filter((id) => !known.some((e) => e.id === id)).length
      return missing === 0 || `it has not met ${missing} node(s) yet`
    },
    { timeoutMs: stack.timeoutMs, intervalMs: 20, what: 'the new node to meet the cluster', hint: 'the cluster bus ports must be reachable between the nodes' },
  )
}
