import type { Redis } from 'ioredis'
import { CheckFailedError, classifyFormation, formatRanges, parseClusterNodes, waitFor, type ClusterNodeEntry, type FormationView, type Stack, type StackNode } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'

export interface CreateClusterResult {
  /** created: formed from fresh nodes; completed: an interrupted creation was finished; existing: nothing to do. */
  readonly action: 'created' | 'completed' | 'existing'
  readonly steps: readonly string[]
}

interface NodeView extends FormationView {
  readonly node: StackNode
  readonly client: Redis
  readonly id: string
}

/**
 * Forms the spec's exact layout: master i owns the i-th even slot range,
 * node i+m replicates node i. We do not wrap `redis-cli --cluster create`:
 * it picks its own replica placement, sleeps and polls in 1 s steps, and waits
 * forever when a bus port is unreachable. Here slots are assigned before the
 * MEETs (so no master idles slotless into a rejoin delay), and every wait has a deadline.
 *
 * What it finds decides what it does, by the acceptance table in core's
 * formation.ts (which compose/node/init-cluster.sh follows too): fresh nodes are
 * formed, a formed cluster is left alone whatever its roles, an interrupted
 * creation is finished through to replicas attached, anything else is refused
 * unchanged; with nodes added by cluster:add-node only a cluster formed with
 * them is accepted (add-node, not up, joins them). Nothing is ever reset.
 */
export async function createCluster(stack: Stack, runtime: Runtime, clients: readonly Redis[]): Promise<CreateClusterResult> {
  const views = await readViews(stack, clients)
  const formation = classifyFormation(stack, views)
  if (formation.state === 'formed') return { action: 'existing', steps: [] }
  if (formation.state === 'refused') {
    const { problems } = formation
    throw new CheckFailedError(
      `the nodes hold a partial cluster that does not match the layout (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; ...' : ''})`,
      'nothing was changed; inspect with `pnpm status`, then repair by hand, or start from empty nodes with `pnpm run down --purge` (deletes all cluster data)',
    )
  }
  const fresh = formation.state === 'fresh'
  // pairs[i]: the member of pair i that owns (or is to own) range i, and the other one, its replica to be.
  const pairs = formation.owners.map((o, i) => ({ range: stack.nodes[i]!.slots!, owner: views[o]!, replica: views[o === i ? i + formation.owners.length : i]! }))

  const steps: string[] = []
  await Promise.all(
    views.map(async (v) => {
      // A fresh node may hold an epoch already (a creation killed right after it): setting it again fails.
      if (fresh && v.myself.configEpoch === 0) await v.client.cluster('SET-CONFIG-EPOCH', v.node.index + 1)
      const pair = pairs.find((p) => p.owner === v)
      if (!pair || v.myself.slots.length > 0) return
      await v.client.cluster('ADDSLOTSRANGE', pair.range.start, pair.range.end)
      steps.push(`${v.node.name}: assigned slots ${formatRanges([pair.range])}`)
    }),
  )
  // Every pair meets directly (one MEET per pair): all nodes know each other
  // after one handshake instead of waiting for gossip to spread, which took
  // up to seconds; replicas can REPLICATE as soon as they see their master.
  const knows = (a: NodeView, b: NodeView) => a.entries.some((e) => e.id === b.id)
  const meets = views.flatMap((v) =>
    views.filter((peer) => peer.node.index > v.node.index && !(knows(v, peer) && knows(peer, v))).map((peer) => [v, peer] as const),
  )
  await Promise.all(meets.map(([v, peer]) => v.client.call('CLUSTER', 'MEET', runtime.clusterAddress(peer.node), peer.node.port, peer.node.busPort)))
  if (meets.length) steps.push(`sent ${meets.length} CLUSTER MEET`)

  await Promise.all(
    views.map(async (v) => {
      // Only the slot owners matter here (each replica's master to be);
      // the other nodes meet each other in the background and the health wait checks it.
      let known: ClusterNodeEntry[] = []
      await waitFor(
        async () => {
          known = parseClusterNodes((await v.client.cluster('NODES')) as string).filter((e) => !e.flags.includes('handshake'))
          return pairs.every(({ owner }) => known.some((e) => e.id === owner.id)) || `${v.node.name} has not met every master yet`
        },
        { timeoutMs: stack.timeoutMs, intervalMs: 10, what: `${v.node.name} to see every master`, hint: 'the cluster bus ports (REDISn_BUS_PORT) must be reachable between nodes' },
      )
      // Tell each node who owns every slot instead of waiting for gossip: a
      // node pings a given peer only every cluster-node-timeout/2, so the slot
      // map took seconds to spread. `SETSLOT ... NODE` is what redis-cli sends
      // to every master after a migration; replicas refuse it, hence before
      // REPLICATE. Owners whose slots this node already knows are skipped.
      const unknownOwners = pairs.filter(({ owner, range }) => owner !== v && formatRanges(known.find((e) => e.id === owner.id)!.slots) !== formatRanges([range]))
      if (v.myself.role === 'master' && unknownOwners.length > 0) {
        const pipeline = v.client.pipeline()
        for (const { owner, range } of unknownOwners) {
          for (let slot = range.start; slot <= range.end; slot++) pipeline.call('CLUSTER', 'SETSLOT', slot, 'NODE', owner.id)
        }
        throwFirstError(await pipeline.exec())
      }
      const pair = pairs.find((p) => p.replica === v)
      if (pair && v.myself.masterId !== pair.owner.id) {
        await v.client.cluster('REPLICATE', pair.owner.id)
        steps.push(`${v.node.name}: replicates ${pair.owner.node.name}`)
      }
    }),
  )
  return { action: fresh ? 'created' : 'completed', steps }
}

async function readViews(stack: Stack, clients: readonly Redis[]): Promise<NodeView[]> {
  return Promise.all(
    stack.nodes.map(async (node, i) => {
      const client = clients[i]!
      const entries = parseClusterNodes((await client.cluster('NODES')) as string)
      const myself = entries.find((e) => e.myself)!
      return { node, client, id: myself.id, entries, myself }
    }),
  )
}

function throwFirstError(results: [Error | null, unknown][] | null): void {
  const failed = results?.find(([error]) => error)
  if (failed) throw failed[0]
}

