import type { Redis } from 'ioredis'
import { SLOT_COUNT, formatRanges, parseClusterNodes, parseInfo, waitFor, type ClusterNodeEntry, type Stack, type StackNode } from '@redis-cluster/core'

export interface HealthReport {
  readonly healthy: boolean
  /** One line per problem, naming the node: "redis-node-4: master_link_status:down". */
  readonly problems: readonly string[]
}

/**
 * Full health, whatever the current roles (a failed-over cluster is healthy too):
 * every node sees cluster_state:ok, all 16384 slots ok and every node known;
 * every replica's link is up with no sync in progress, and every master's
 * replicas are online and caught up to its replication offset; and every node's
 * view of every other node (role, master, slots, no fail/handshake flags)
 * agrees with that node's view of itself: roles spread by gossip, and a
 * client asking a node that lags gets a stale topology.
 */
export async function checkHealth(stack: Stack, clients: readonly Redis[]): Promise<HealthReport> {
  const reads = await Promise.all(
    clients.map(async (client) => {
      const [cluster, replication, nodes] = await Promise.all([client.cluster('INFO'), client.info('replication'), client.cluster('NODES')])
      return { info: { ...parseInfo(cluster as string), ...parseInfo(replication) }, view: parseClusterNodes(nodes as string) }
    }),
  )
  const myselves = reads.map(({ view }) => view.find((e) => e.myself)!)
  const selves = new Map(myselves.map((e) => [e.id, e]))
  const names = new Map(stack.nodes.map((node, i) => [myselves[i]!.id, node.name]))
  const problems = stack.nodes.flatMap((node, i) => [
    ...nodeProblems(stack, node, reads[i]!.info),
    ...viewProblems(node, reads[i]!.view, selves, names),
  ])
  return { healthy: problems.length === 0, problems }
}

function viewProblems(node: StackNode, view: readonly ClusterNodeEntry[], selves: Map<string, ClusterNodeEntry>, names: Map<string, string>): string[] {
  return view.flatMap((entry) => {
    const self = selves.get(entry.id)
    const who = names.get(entry.id) ?? `${entry.host}:${entry.port}`
    if (entry.unhealthy) return [`${node.name}: sees ${who} as ${entry.flags.join(',')}`]
    if (!self) return [`${node.name}: knows ${who}, which is not in this stack`]
    if (entry.role !== self.role || entry.masterId !== self.masterId) return [`${node.name}: still sees ${who} as ${entry.role}`]
    if (formatRanges(entry.slots) !== formatRanges(self.slots)) return [`${node.name}: has a stale slot map for ${who}`]
    return []
  })
}

function nodeProblems(stack: Stack, node: StackNode, info: Record<string, string>): string[] {
  const problems: string[] = []
  const say = (what: string) => problems.push(`${node.name}: ${what}`)
  if (info.cluster_state !== 'ok') say(`cluster_state:${info.cluster_state}`)
  if (Number(info.cluster_slots_ok) !== SLOT_COUNT) say(`cluster_slots_ok:${info.cluster_slots_ok}/${SLOT_COUNT}`)
  if (Number(info.cluster_known_nodes) < stack.nodes.length) say(`knows ${info.cluster_known_nodes} of ${stack.nodes.length} nodes`)
  if (info.role === 'slave') {
    if (info.master_link_status !== 'up') say(`master_link_status:${info.master_link_status}`)
    else if (info.master_sync_in_progress !== '0') say('initial sync in progress')
  } else {
    const offset = Number(info.master_repl_offset)
    for (let r = 0; r < Number(info.connected_slaves); r++) {
      const replica = Object.fromEntries((info[`slave${r}`] ?? '').split(',').map((kv) => kv.split('=')))
      if (replica.state !== 'online') say(`replica ${replica.ip}:${replica.port} is ${replica.state}`)
      else if (Number(replica.offset) < offset) say(`replica ${replica.ip}:${replica.port} behind by ${offset - Number(replica.offset)} bytes`)
    }
  }
  return problems
}

export interface WaitForHealthyOptions {
  timeoutMs?: number
}

/** Polls checkHealth until healthy; on timeout the error names each node that is not ready and why. */
export async function waitForHealthy(stack: Stack, clients: readonly Redis[], { timeoutMs = stack.timeoutMs }: WaitForHealthyOptions = {}): Promise<void> {
  await waitFor(
    async () => {
      const report = await checkHealth(stack, clients)
      return report.healthy || report.problems.join('; ')
    },
    { timeoutMs, intervalMs: 25, what: 'a healthy cluster', hint: 'run `pnpm status` to see each node; node logs are under .data/<node>/redis.log (local) or `docker-compose logs`' },
  )
}
