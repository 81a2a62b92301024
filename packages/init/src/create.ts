import type { Redis } from 'ioredis'
import { CheckFailedError, SLOT_COUNT, countSlots, formatRanges, parseClusterNodes, waitFor, type ClusterNodeEntry, type Stack, type StackNode } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'

export interface CreateClusterResult {
  /** created: formed from fresh nodes; completed: an interrupted creation was finished; existing: nothing to do. */
  readonly action: 'created' | 'completed' | 'existing'
  readonly steps: readonly string[]
}

interface NodeView {
  readonly node: StackNode
  readonly client: Redis
  readonly id: string
  readonly entries: readonly ClusterNodeEntry[]
  readonly myself: ClusterNodeEntry
}

/**
 * Forms the spec's exact layout: master i owns the i-th even slot range,
 * node i+m replicates node i. We do not wrap `redis-cli --cluster create`:
 * it picks its own replica placement, sleeps and polls in 1 s steps, and waits
 * forever when a bus port is unreachable. Here slots are assigned before the
 * MEETs (so no master idles slotless into a rejoin delay), and every wait has a deadline.
 *
 * Idempotent: a formed cluster (all slots assigned, all nodes known) is left
 * alone whatever its roles; a half-formed one is finished only where it agrees
 * with the layout, and refused otherwise. Nothing is ever reset.
 */
export async function createCluster(stack: Stack, runtime: Runtime, clients: readonly Redis[]): Promise<CreateClusterResult> {
  const views = await readViews(stack, clients)
  const fresh = views.every((v) => v.entries.length === 1 && v.myself.slots.length === 0)
  if (!fresh && isFormed(stack, views)) return { action: 'existing', steps: [] }
  if (!fresh) assertAgreesWithLayout(views)

  const steps: string[] = []
  const byIndex = (i: number) => views[i]!
  const assigned = assignedSlots(views)
  await Promise.all(
    views.map(async ({ node, client }) => {
      if (fresh) await client.cluster('SET-CONFIG-EPOCH', node.index + 1)
      const missing = node.slots ? unassigned(node.slots.start, node.slots.end, assigned) : []
      if (missing.length === 0) return
      await client.cluster('ADDSLOTSRANGE', ...missing.flatMap((r) => [r.start, r.end]))
      steps.push(`${node.name}: assigned slots ${formatRanges(missing)}`)
    }),
  )
  // Every pair meets directly (one MEET per pair): all nodes know each other
  // after one handshake instead of waiting for gossip to spread, which took
  // up to seconds; replicas can REPLICATE as soon as they see their master.
  const meets = views.flatMap((v) =>
    views.filter((peer) => peer.node.index > v.node.index && !v.entries.some((e) => e.id === peer.id)).map((peer) => [v, peer] as const),
  )
  await Promise.all(meets.map(([v, peer]) => v.client.call('CLUSTER', 'MEET', runtime.clusterAddress(peer.node), peer.node.port, peer.node.busPort)))
  if (meets.length) steps.push(`sent ${meets.length} CLUSTER MEET`)

  const masters = views.filter((v) => v.node.role === 'master')
  await Promise.all(
    views.map(async (v) => {
      // Only the masters matter here (slot owners, and each replica's master);
      // the replicas meet each other in the background and the health wait checks it.
      let known: ClusterNodeEntry[] = []
      await waitFor(
        async () => {
          known = parseClusterNodes((await v.client.cluster('NODES')) as string).filter((e) => !e.flags.includes('handshake'))
          return masters.every((m) => known.some((e) => e.id === m.id)) || `${v.node.name} has not met every master yet`
        },
        { timeoutMs: stack.timeoutMs, intervalMs: 10, what: `${v.node.name} to see every master`, hint: 'the cluster bus ports (REDISn_BUS_PORT) must be reachable between nodes' },
      )
      // Tell each node who owns every slot instead of waiting for gossip: a
      // node pings a given peer only every cluster-node-timeout/2, so the slot
      // map took seconds to spread. `SETSLOT ... NODE` is what redis-cli sends
      // to every master after a migration; replicas refuse it, hence before
      // REPLICATE. Masters whose slots this node already knows are skipped.
      const unknownOwners = masters.filter((m) => m !== v && m.node.slots && formatRanges(known.find((e) => e.id === m.id)!.slots) !== formatRanges([m.node.slots]))
      if (v.myself.role === 'master' && unknownOwners.length > 0) {
        const pipeline = v.client.pipeline()
        for (const { id, node } of unknownOwners) {
          for (let slot = node.slots!.start; slot <= node.slots!.end; slot++) pipeline.call('CLUSTER', 'SETSLOT', slot, 'NODE', id)
        }
        throwFirstError(await pipeline.exec())
      }
      const master = v.node.role === 'replica' ? byIndex(v.node.masterIndex!) : undefined
      if (master && v.myself.masterId !== master.id) {
        await v.client.cluster('REPLICATE', master.id)
        steps.push(`${v.node.name}: replicates ${master.node.name}`)
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

/** Every slot assigned and every node known by every node: a cluster exists, whatever its current roles. */
function isFormed(stack: Stack, views: readonly NodeView[]): boolean {
  const covered = views.reduce((n, v) => n + countSlots(v.myself.slots), 0)
  return covered === SLOT_COUNT && views.every((v) => v.entries.filter((e) => !e.flags.includes('handshake')).length >= stack.nodes.length)
}

/** Slots owned by any node, as each node reports its own. */
function assignedSlots(views: readonly NodeView[]): Set<number> {
  const slots = new Set<number>()
  for (const v of views) for (const r of v.myself.slots) for (let s = r.start; s <= r.end; s++) slots.add(s)
  return slots
}

function unassigned(start: number, end: number, assigned: ReadonlySet<number>): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = []
  for (let s = start; s <= end; s++) {
    if (assigned.has(s)) continue
    const last = ranges.at(-1)
    if (last && last.end === s - 1) last.end = s
    else ranges.push({ start: s, end: s })
  }
  return ranges
}

/** A half-formed cluster is finished only if what exists matches the layout; anything else needs a human. */
function assertAgreesWithLayout(views: readonly NodeView[]): void {
  const ids = new Set(views.map((v) => v.id))
  const problems: string[] = []
  for (const v of views) {
    for (const r of v.myself.slots) {
      if (!v.node.slots || r.start < v.node.slots.start || r.end > v.node.slots.end) {
        problems.push(`${v.node.name} owns slots ${formatRanges([r])} outside its layout range`)
      }
    }
    const master = v.node.role === 'replica' ? views[v.node.masterIndex!] : undefined
    if (v.myself.masterId && v.myself.masterId !== master?.id) problems.push(`${v.node.name} replicates a node the layout does not pair it with`)
    for (const e of v.entries) if (!ids.has(e.id) && !e.flags.includes('handshake')) problems.push(`${v.node.name} knows a foreign node ${e.host}:${e.port}`)
  }
  if (problems.length) {
    throw new CheckFailedError(
      `the nodes hold a partial cluster that does not match the layout (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; ...' : ''})`,
      'nothing was changed; inspect with `pnpm status`, then repair by hand, or start from empty nodes with `pnpm run down --purge` (deletes all cluster data)',
    )
  }
}
