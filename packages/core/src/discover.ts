import { ConfigError, RcError, TemporaryError } from './errors.ts'
import { parseClusterNodes, type ClusterNodeEntry } from './cluster-nodes.ts'
import { connectNode, type NodeClient } from './redis.ts'
import { describeRedisError } from './redis-errors.ts'
import { formatAddress } from './settings.ts'
import { loadStack, withNodes, type Address, type LoadStackOptions, type Stack, type StackNode } from './stack.ts'

/**
 * The Stack/Runtime seam for a cluster this toolkit did not start: its nodes
 * are read from the cluster itself, through the seeds (RC_SEEDS), instead of
 * from the compose file. Local and compose stacks come back as they are.
 *
 * Any number of masters and replicas, any slot layout, any addresses: the
 * nodes carry no spec layout (`slots` undefined), so layout drift and
 * `--restore-layout` find nothing to restore, and a master without slots is
 * an added one (`empty-master`), not an interrupted creation.
 */
export async function discoverStack(stack: Stack): Promise<Stack> {
  if (stack.runtime !== 'external') return stack
  const views = await Promise.all(stack.seeds.map((seed) => readSeed(stack, seed)))
  const answered = views.filter((v): v is SeedView => !('error' in v))
  if (answered.length === 0) throw noSeedAnswers(views as SeedSilence[])
  assertOneCluster(answered)
  return withNodes(stack, toStackNodes(answered))
}

/** loadStack + discoverStack: the stack as a command sees it (bench and tests; runScript does the same). */
export async function openStack(options?: LoadStackOptions): Promise<Stack> {
  return discoverStack(loadStack(options))
}

interface SeedView {
  readonly seed: string
  readonly entries: readonly ClusterNodeEntry[]
  /** Per node id, from CLUSTER SHARDS where the server has it (7.0+): the endpoint clients should dial and the announced hostname. */
  readonly endpoints: ReadonlyMap<string, { endpoint: string; hostname: string | undefined }>
}
interface SeedSilence {
  readonly seed: string
  readonly error: RcError
}

async function readSeed(stack: Stack, { host, port }: Address): Promise<SeedView | SeedSilence> {
  const seed = formatAddress({ host, port })
  const subject = { name: `seed ${seed}`, host, port, remote: true }
  let client: NodeClient | undefined
  try {
    client = await connectNode(stack, subject)
    const [nodes, shards] = await Promise.all([client.cluster('NODES') as Promise<string>, client.call('CLUSTER', 'SHARDS').catch(() => undefined)])
    return { seed, entries: parseClusterNodes(nodes), endpoints: shardEndpoints(shards) }
  } catch (error) {
    if (/cluster support disabled/i.test((error as Error).message)) {
      return { seed, error: new ConfigError(`seed ${seed} is not a cluster node (cluster support disabled)`, 'RC_SEEDS must name nodes of a Redis Cluster') }
    }
    return { seed, error: describeRedisError(subject, error) }
  } finally {
    client?.disconnect()
  }
}

/** CLUSTER SHARDS (RESP2: flat key/value arrays) → endpoint and hostname per node id. */
function shardEndpoints(reply: unknown): Map<string, { endpoint: string; hostname: string | undefined }> {
  const pairs = (list: unknown) => {
    const fields = new Map<string, unknown>()
    if (Array.isArray(list)) for (let i = 0; i + 1 < list.length; i += 2) fields.set(String(list[i]), list[i + 1])
    return fields
  }
  const endpoints = new Map<string, { endpoint: string; hostname: string | undefined }>()
  for (const shard of Array.isArray(reply) ? reply : []) {
    for (const node of (pairs(shard).get('nodes') as unknown[] | undefined) ?? []) {
      const fields = pairs(node)
      const endpoint = String(fields.get('endpoint') ?? fields.get('ip') ?? '')
      const hostname = fields.get('hostname') ? String(fields.get('hostname')) : undefined
      endpoints.set(String(fields.get('id')), { endpoint, hostname })
    }
  }
  return endpoints
}

/** No seed answered: 78 when every one refused our password or is not a cluster node (retrying will not help), 75 otherwise. */
function noSeedAnswers(silences: readonly SeedSilence[]): RcError {
  const reasons = silences.map((s) => s.error.message).join('; ')
  if (silences.every((s) => s.error instanceof ConfigError)) return new ConfigError(`no seed can be used: ${reasons}`, silences[0]!.error.hint)
  // every seed failing alike (e.g. a TLS handshake): its own hint says more than the generic one
  const hints = new Set(silences.map((s) => s.error.hint))
  const shared = hints.size === 1 ? silences[0]!.error.hint : undefined
  return new TemporaryError(`no seed answers: ${reasons}`, shared ?? 'check RC_SEEDS and that this host reaches those nodes (client port open, node running)')
}

/** Seeds of two clusters would mix their nodes: each answering seed must know every other. */
function assertOneCluster(views: readonly SeedView[]): void {
  for (const a of views) {
    const known = new Set(a.entries.map((e) => e.id))
    for (const b of views) {
      const bId = b.entries.find((e) => e.myself)?.id
      if (bId && !known.has(bId)) {
        throw new ConfigError(`seeds ${a.seed} and ${b.seed} belong to different clusters (${a.seed} knows ${known.size} nodes, not ${b.seed})`, 'list nodes of one cluster only in RC_SEEDS')
      }
    }
  }
}

/**
 * Every node the seeds know, named `host:port` (the announced hostname when
 * there is one) and dialled at the endpoint the cluster tells clients to
 * use. Order: masters by their first slot, slotless masters, then replicas
 * after their master, so tables read shard by shard.
 */
function toStackNodes(views: readonly SeedView[]): StackNode[] {
  const byId = new Map<string, ClusterNodeEntry>()
  // a node's own entry is the truth about itself; a handshake or address-less entry is no node to dial
  for (const view of views) for (const e of view.entries) if (e.host && !e.flags.includes('handshake') && (e.myself || !byId.has(e.id))) byId.set(e.id, e)
  const endpoints = new Map(views.flatMap((v) => [...v.endpoints]))
  const firstSlot = (e: ClusterNodeEntry) => e.slots[0]?.start ?? Infinity
  const masters = [...byId.values()].filter((e) => e.role === 'master').sort((a, b) => firstSlot(a) - firstSlot(b))
  const position = new Map(masters.map((m, i) => [m.id, i]))
  const replicas = [...byId.values()]
    .filter((e) => e.role === 'replica')
    .sort((a, b) => (position.get(a.masterId ?? '') ?? Infinity) - (position.get(b.masterId ?? '') ?? Infinity) || a.port - b.port)
  return [...masters, ...replicas].map((e, index) => {
    const { endpoint, hostname } = endpoints.get(e.id) ?? { endpoint: e.host, hostname: undefined }
    const host = endpoint && endpoint !== '?' ? endpoint : e.host
    return {
      index,
      name: hostname ? `${hostname}:${e.port}` : formatAddress({ host, port: e.port }),
      port: e.port,
      busPort: e.busPort,
      host,
      clusterIp: undefined,
      role: e.role,
      masterIndex: e.masterId === undefined ? undefined : position.get(e.masterId),
      slots: undefined,
      dataDir: '',
      remote: true as const,
      ...(e.role === 'master' && e.slots.length === 0 ? { added: true as const } : {}),
    }
  })
}
