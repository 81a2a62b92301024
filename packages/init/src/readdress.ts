import type { Redis } from 'ioredis'
import { parseClusterNodes, waitFor, type ClusterNodeEntry, type Stack, type StackNode } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'

interface Address {
  readonly host: string
  readonly port: number
  readonly busPort: number
}

/** A node another node knows at an address that is no longer the node's. */
interface StaleEntry {
  /** Index of the node that holds the stale entry. */
  readonly viewer: number
  readonly node: StackNode
  readonly address: Address
  readonly was: ClusterNodeEntry
}

/**
 * Re-introduces the nodes of a formed cluster to each other after their
 * ports or addresses changed (new REDISn_PORT / REDISn_BUS_PORT, another
 * network). Each node still dials its peers at the addresses in its
 * nodes.conf, and gossip never corrects the address of a node it already
 * knows, so nobody reaches anybody. A CLUSTER MEET to the new address fixes
 * it and keeps the id: when the handshake answers with a node id the sender
 * already knows, Redis updates that node's address (nodeUpdateAddressIfNeeded
 * in cluster.c), and a replica re-points its replication there too. A node
 * learns an address only from its own handshake, so every node that holds a
 * stale entry sends its own MEET.
 *
 * Node ids come from each node's `myself` entry; the addresses from the
 * stack. Returns one step per node re-introduced; none when every node
 * already sees every peer where the stack says it is (and on fresh nodes).
 */
export async function readdressNodes(stack: Stack, runtime: Runtime, clients: readonly Redis[]): Promise<string[]> {
  const views = await readViews(clients)
  const expected = new Map(
    stack.nodes.map((node, i) => [views[i]!.find((e) => e.myself)!.id, { node, address: { host: runtime.clusterAddress(node), port: node.port, busPort: node.busPort } }]),
  )
  const findStale = (all: readonly ClusterNodeEntry[][]): StaleEntry[] =>
    all.flatMap((view, viewer) =>
      view.flatMap((was) => {
        const now = expected.get(was.id)
        return now && !was.myself && !sameAddress(was, now.address) ? [{ viewer, was, ...now }] : []
      }),
    )
  const found = findStale(views)
  if (found.length === 0) return []

  await waitFor(
    async () => {
      const stale = findStale(await readViews(clients))
      if (stale.length === 0) return true
      // Sent again on each poll: a handshake that timed out is dropped, and a MEET while one is under way is a no-op.
      await Promise.all(stale.map(({ viewer, address }) => clients[viewer]!.call('CLUSTER', 'MEET', address.host, address.port, address.busPort)))
      return stale.map((s) => `${stack.nodes[s.viewer]!.name} sees ${s.node.name} at ${formatAddress(s.was)}`).join('; ')
    },
    {
      timeoutMs: stack.timeoutMs,
      intervalMs: 50,
      what: 'every node to see its peers at their new addresses',
      hint: 'the cluster bus ports (REDISn_BUS_PORT) must be reachable between nodes',
    },
  )
  const moved = new Map(found.map((s) => [s.node, s]))
  return [...moved.values()].sort((a, b) => a.node.index - b.node.index).map((s) => `${s.node.name}: re-introduced at ${formatAddress(s.address)} (was ${formatAddress(s.was)})`)
}

async function readViews(clients: readonly Redis[]): Promise<ClusterNodeEntry[][]> {
  return Promise.all(clients.map(async (client) => parseClusterNodes((await client.cluster('NODES')) as string)))
}

const sameAddress = (a: Address, b: Address) => a.host === b.host && a.port === b.port && a.busPort === b.busPort
const formatAddress = (a: Address) => `${a.host}:${a.port}@${a.busPort}`
