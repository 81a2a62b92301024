import { isIP } from 'node:net'
import { UsageError, formatAddress, parseSeed, type Address } from '@redis-cluster/core'

/** Redis Cluster needs a majority of masters to survive the loss of one: fewer than 3 never can. */
export const MIN_MASTERS = 3

export interface Placement {
  readonly masters: readonly Address[]
  /** Every other node, with the master it is to follow: never one on its own host. */
  readonly replicas: readonly { readonly node: Address; readonly master: Address }[]
}

/**
 * `--seeds ip:port,ip:port,...`: every node of the cluster to be, once each.
 * IP addresses only: CLUSTER MEET (which redis-cli sends) takes no host
 * names, and the address part is what says which nodes share a host.
 */
export function parseSeedList(list: string | undefined): Address[] {
  const example = 'e.g. --seeds 10.0.0.5:6379,10.0.0.5:6380,10.0.0.6:6379,10.0.0.6:6380,10.0.0.7:6379,10.0.0.7:6380'
  if (!list?.trim()) throw new UsageError('--seeds is required: the ip:port of every node to join, comma-separated', example)
  const seeds = list.split(',').map((text) => {
    const seed = parseSeed(text.trim())
    if (!seed || !isIP(seed.host)) throw new UsageError(`--seeds: '${text.trim()}' is not ip:port (an IP address, not a host name: CLUSTER MEET takes addresses)`, example)
    return seed
  })
  const twice = seeds.find((s, i) => seeds.findIndex((o) => formatAddress(o) === formatAddress(s)) !== i)
  if (twice) throw new UsageError(`--seeds: ${formatAddress(twice)} is listed twice`, 'list each node once')
  return seeds
}

/**
 * Which nodes become masters and which master each other node follows, so
 * that no replica shares its master's host (host = the address part): the
 * loss of one host then never takes a master together with its replica.
 * Masters are taken round-robin over the hosts, fullest first (a host's loss
 * costs as few masters as it can); the `replicas` copies each master needs
 * are matched to nodes on other hosts (augmenting paths, so one poor early
 * choice cannot block a placement that exists); the nodes left over join
 * the master on another host with the fewest replicas. Throws UsageError
 * when the counts or the hosts make it impossible.
 */
export function planPlacement(seeds: readonly Address[], { masters: mastersFlag, replicas = 1 }: { masters?: number; replicas?: number }): Placement {
  const total = seeds.length
  const count = mastersFlag ?? Math.floor(total / (1 + replicas))
  const fix = 'give more nodes, or lower --masters / --replicas'
  if (count < MIN_MASTERS) throw new UsageError(`${total} node(s) with ${replicas} replica(s) per master give ${count} master(s): a cluster needs at least ${MIN_MASTERS}`, fix)
  if (count * (1 + replicas) > total) throw new UsageError(`${count} masters with ${replicas} replica(s) each need ${count * (1 + replicas)} nodes, --seeds lists ${total}`, fix)

  const byHost = new Map<string, Address[]>()
  for (const seed of seeds) byHost.set(seed.host, [...(byHost.get(seed.host) ?? []), seed])
  const hosts = [...byHost.values()].sort((a, b) => b.length - a.length)
  const masters: Address[] = []
  for (let round = 0; masters.length < count; round++) for (const host of hosts) if (host[round] && masters.length < count) masters.push(host[round]!)
  const others = seeds.filter((s) => !masters.includes(s))
  const eligible = (node: Address) => masters.filter((m) => m.host !== node.host)

  // slot k holds copy k % replicas of master floor(k / replicas)
  const holder: (Address | undefined)[] = Array.from({ length: count * replicas })
  const claim = (node: Address, seen: Set<number>): boolean => {
    for (const master of eligible(node)) {
      const first = masters.indexOf(master) * replicas
      for (let k = first; k < first + replicas; k++) {
        if (seen.has(k)) continue
        seen.add(k)
        if (!holder[k] || claim(holder[k]!, seen)) {
          holder[k] = node
          return true
        }
      }
    }
    return false
  }
  const unplaced = others.filter((node) => !claim(node, new Set()))
  if (holder.some((h) => !h)) throw impossible(hosts, count, replicas)

  const assigned = new Map(holder.map((node, k) => [node!, masters[Math.floor(k / replicas)]!]))
  for (const node of unplaced) {
    const load = (m: Address) => [...assigned.values()].filter((a) => a === m).length
    const master = eligible(node).sort((a, b) => load(a) - load(b))[0]
    if (!master) throw impossible(hosts, count, replicas)
    assigned.set(node, master)
  }
  return { masters, replicas: others.map((node) => ({ node, master: assigned.get(node)! })) }
}

function impossible(hosts: readonly (readonly Address[])[], masters: number, replicas: number): UsageError {
  const spread = hosts.map((h) => `${h[0]!.host}: ${h.length}`).join(', ')
  return new UsageError(
    `cannot place ${masters} masters with ${replicas} replica(s) each so that no replica is on its master's host (nodes per host: ${spread})`,
    'add nodes on other hosts, or lower --masters / --replicas',
  )
}
