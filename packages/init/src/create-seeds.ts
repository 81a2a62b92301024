import { CheckFailedError, ConfigError, TemporaryError, connectAll, discoverStack, formatAddress, formatRanges, parseClusterNodes, parseInfo, renderTable, runRedisCli, waitFor, waitForHealthy, type Address, type ClusterNodeEntry, type NodeClient, type Stack, type StackNode } from '@redis-cluster/core'
import { parseWhole } from './move-slots.ts'
import { parseSeedList, planPlacement } from './_seed-placement.ts'
import { whyNotEmpty } from './_empty-node.ts'

const BUS_HINT = 'the cluster bus ports must be reachable between the hosts (see README, Beyond one host)'

export interface CreateFromSeedsOptions {
  /** `--seeds`: ip:port of every node, comma-separated. */
  readonly seeds?: string
  readonly masters?: string
  readonly replicas?: string
  readonly progress?: (line: string) => void
}

export interface CreateFromSeedsResult {
  readonly nodes: readonly { readonly node: string; readonly role: 'master' | 'replica'; readonly slots?: string; readonly master?: string }[]
  readonly hosts: number
  /** The .env lines that point the toolkit at the new cluster: RC_RUNTIME=external, RC_SEEDS (one node per host). */
  readonly env: Readonly<Record<string, string>>
}

/**
 * `cluster:create --seeds`: forms one cluster from empty standalone nodes
 * on several hosts (the per-host stack, compose/docker-compose.node.yml),
 * with no replica on its master's host. The placement is ours
 * (_seed-placement.ts); the forming is the standard tool's:
 * `redis-cli --cluster create` on the chosen masters only, because given
 * replicas it derives the number of masters from --cluster-replicas (no
 * --masters) and its host anti-affinity is best effort (it only warns
 * "Some slaves are in the same host as their master"). Each other node
 * then meets its master and REPLICATEs it. Nothing is touched unless every
 * node answers, accepts the password, runs in cluster mode, and is empty
 * and alone; it returns once the cluster is healthy.
 */
export async function createFromSeeds(stack: Stack, options: CreateFromSeedsOptions): Promise<CreateFromSeedsResult> {
  const { progress } = options
  const seeds = parseSeedList(options.seeds)
  const placement = planPlacement(seeds, {
    masters: parseWhole('masters', options.masters, { min: 1, max: 16384 }),
    replicas: parseWhole('replicas', options.replicas, { min: 0, max: 16 }),
  })
  const nodes = seeds.map(seedNode)
  const clients = await connectAll(stack, nodes)
  try {
    const client = (address: Address) => clients[seeds.indexOf(address)]!
    await assertFresh(nodes, clients)
    progress?.(`redis-cli --cluster create: ${placement.masters.length} masters (${placement.masters.map(formatAddress).join(', ')})`)
    await runRedisCli(stack, ['--cluster', 'create', ...placement.masters.map(formatAddress), '--cluster-replicas', '0', '--cluster-yes']).catch((error: unknown) => {
      // redis-cli waits for the join without end of its own: past the deadline, the likely cause is a bus port nobody reaches
      throw error instanceof TemporaryError ? new TemporaryError(`redis-cli --cluster create: ${error.message}`, `${BUS_HINT}; the masters may hold slots now: reset them (CLUSTER RESET HARD, or fresh volumes) before running it again`) : error
    })
    // A master's own entry: its id and the address and bus port it announces (what a MEET must name).
    const own = new Map(await Promise.all(placement.masters.map(async (m) => [m, myself((await client(m).cluster('NODES')) as string)] as const)))
    await Promise.all(
      placement.replicas.map(async ({ node, master }) => {
        const { id, host, port, busPort } = own.get(master)!
        await client(node).call('CLUSTER', 'MEET', host, port, busPort)
        await waitFor(async () => parseClusterNodes((await client(node).cluster('NODES')) as string).some((e) => e.id === id && !e.flags.includes('handshake')) || `${formatAddress(node)} has not met ${formatAddress(master)} yet`, {
          timeoutMs: stack.timeoutMs,
          what: `${formatAddress(node)} to meet ${formatAddress(master)}`,
          hint: BUS_HINT,
        })
        await client(node).cluster('REPLICATE', id)
        progress?.(`${formatAddress(node)}: replicates ${formatAddress(master)}`)
      }),
    )
    const entries = await waitForPlacement(stack, seeds, clients, new Map(placement.replicas.map(({ node, master }) => [node, own.get(master)!.id])))
    const nameOf = new Map(entries.map((e, i) => [e.id, formatAddress(seeds[i]!)]))
    const cluster = await discoverStack({ ...stack, runtime: 'external', seeds, nodes: [] })
    progress?.(`waiting until the ${cluster.nodes.length} nodes are healthy`)
    await waitForHealthy(cluster)
    const ordered = [...placement.masters, ...placement.replicas.map((r) => r.node)].map((a) => entries[seeds.indexOf(a)]!)
    return {
      hosts: new Set(seeds.map((s) => s.host)).size,
      // one seed per host: discovery still finds the cluster when a host is down
      env: { RC_RUNTIME: 'external', RC_SEEDS: seeds.filter((s, i) => seeds.findIndex((o) => o.host === s.host) === i).map(formatAddress).join(',') },
      nodes: ordered.map((e) => (e.role === 'master' ? { node: nameOf.get(e.id)!, role: e.role, slots: formatRanges(e.slots) } : { node: nameOf.get(e.id)!, role: e.role, master: nameOf.get(e.masterId!)! })),
    }
  } finally {
    clients.forEach((c) => c.disconnect())
  }
}

/** A seed as a node to dial and name in messages (`10.0.0.5:6379`); the rest is filled in once the cluster exists. */
function seedNode(address: Address, index: number): StackNode {
  return { index, name: formatAddress(address), host: address.host, port: address.port, busPort: address.port + 10000, clusterIp: undefined, role: 'master', masterIndex: undefined, slots: undefined, dataDir: '' }
}

function myself(text: string): ClusterNodeEntry {
  return parseClusterNodes(text).find((e) => e.myself)!
}

/** Joining a node that runs without cluster mode, knows other nodes, owns slots or holds keys would fail half-way, merge two clusters or lose data: every problem, before anything is changed. */
async function assertFresh(nodes: readonly StackNode[], clients: readonly NodeClient[]): Promise<void> {
  const found = await Promise.all(
    clients.map(async (client, i) => {
      const name = nodes[i]!.name
      if (parseInfo((await client.info('cluster')) as string).cluster_enabled !== '1') return { name, config: true, what: 'runs without cluster mode (cluster-enabled no)' }
      const what = await whyNotEmpty(client)
      return what ? { name, config: false, what } : undefined
    }),
  )
  const problems = found.filter((p) => p !== undefined)
  if (problems.length === 0) return
  const text = problems.slice(0, 3).map((p) => `${p.name} ${p.what}`).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '')
  if (problems.some((p) => p.config)) throw new ConfigError(`cannot form a cluster: ${text}`, 'start every node with cluster-enabled yes (conf/redis.conf has it)')
  throw new CheckFailedError(`cannot form a cluster: ${text}; nothing was changed`, 'give empty nodes that are in no cluster (a fresh data volume), or empty one yourself if its data is not needed')
}

/**
 * Until every node knows all of them and sees each replica under its planned
 * master (gossip carries the roles; discovery and health read them after).
 * Returns the nodes in seed order as the first node then sees them.
 */
async function waitForPlacement(stack: Stack, seeds: readonly Address[], clients: readonly NodeClient[], masterOf: ReadonlyMap<Address, string>): Promise<ClusterNodeEntry[]> {
  let settled: ClusterNodeEntry[] = []
  await waitFor(
    async () => {
      const views = await Promise.all(clients.map(async (c) => parseClusterNodes((await c.cluster('NODES')) as string).filter((e) => !e.flags.includes('handshake'))))
      const ids = views.map((view) => view.find((e) => e.myself)!.id)
      for (const [i, view] of views.entries()) {
        const name = formatAddress(seeds[i]!)
        if (view.length < seeds.length) return `${name} knows ${view.length} of the ${seeds.length} nodes`
        for (const [replica, masterId] of masterOf) {
          if (view.find((e) => e.id === ids[seeds.indexOf(replica)])?.masterId !== masterId) return `${name} does not see ${formatAddress(replica)} under its master yet`
        }
      }
      settled = ids.map((id) => views[0]!.find((e) => e.id === id)!)
      return true
    },
    { timeoutMs: stack.timeoutMs, what: 'every node to know every other and see each replica under its master', hint: BUS_HINT },
  )
  return settled
}

/** The new cluster, node by node, and the .env lines that operate it from here. */
export function renderCreateFromSeeds(result: CreateFromSeedsResult): string {
  const masters = result.nodes.filter((n) => n.role === 'master').length
  const rows = result.nodes.map((n) => [n.node, n.role, n.role === 'master' ? `slots ${n.slots}` : `of ${n.master}`])
  return [
    `cluster formed on ${result.hosts} hosts: ${masters} masters, ${result.nodes.length - masters} replicas, healthy; no replica on its master's host`,
    renderTable(rows),
    '',
    'to operate it from this host, put these lines in .env (and RC_USER / RC_PASSWORD_FILE if the nodes\' user is not this toolkit\'s admin with secrets/users/admin.txt):',
    ...Object.entries(result.env).map(([k, v]) => `${k}=${v}`),
  ].join('\n')
}
