import type { ClusterNodeEntry } from './cluster-nodes.ts'
import { SLOT_COUNT, formatRanges, type SlotRange } from './layout.ts'
import type { StackNode } from './stack.ts'

/*
 * The acceptance table: what `createCluster` (packages/init) and the init container's
 * compose/node/init-cluster.sh do with the nodes they find. Both follow it; the table-driven
 * test packages/init/test/formation-acceptance.test.ts runs both against the same cases.
 *
 * n nodes (the spec's, not counting added ones), m = n/2. The spec: node i < m is the master of range_i (the i-th range of
 * splitSlots), node i+m replicates node i; "pair i" is {node i, node i+m}. Every rule reads
 * each node's own CLUSTER NODES: its own entry (slots, master) and the ids it knows
 * (entries in handshake do not count: they carry a random id until the handshake ends).
 * Nodes added by cluster:add-node are outside the spec's layout: `up` never forms them
 * (add-node joins them), it only accepts a cluster formed with them (rows 2a, 2b).
 * The first row that matches decides; REFUSED names up to 3 problems and changes nothing.
 *
 * | # | the nodes' own state | state | createCluster | init-cluster.sh |
 * |---|----------------------|-------|---------------|-----------------|
 * | 1 | no added nodes; every node knows only itself and owns no slots | FRESH | config epoch i+1 (where still 0), range_i to node i, MEET every pair, push the slot map to masters, node i+m REPLICATEs node i: `created` | same, exit 0 |
 * | 2 | every node knows every other; each slot is owned by exactly one node; every node is a master owning >= 1 slot or a replica of one; every slot-owning master has >= 1 replica | FORMED | nothing: `existing` (failover drift and deliberate reshards are accepted; whether it is healthy is the health check's call) | exit 0 |
 * | 2a | the stack has added nodes (cluster:add-node; REDIS_ADDED_NODES for the script) and row 2 holds over all nodes, where an added master may own no slots or have no replica | FORMED | nothing: `existing` (health reports an empty or unreplicated added master, naming the command) | exit 0 |
 * | 2b | the stack has added nodes and row 2a does not hold | REFUSED | CheckFailedError | exit 1 |
 * | 3 | a node knows a node outside the stack | REFUSED | CheckFailedError | exit 1 |
 * | 4 | a node owns slots other than exactly its pair's range (a sub-range too: our tools assign a range in one ADDSLOTSRANGE, so a sub-range was made by hand) | REFUSED | CheckFailedError | exit 1 |
 * | 5 | both members of a pair own its range | REFUSED | CheckFailedError | exit 1 |
 * | 6 | a node replicates a node outside its pair, or the other member when that one owns no slots | REFUSED | CheckFailedError | exit 1 |
 * | 7 | anything else: an interrupted creation, a pair possibly swapped by a failover | PARTIAL | range_i to node i where neither member owns it, MEET the pairs that do not know each other, push the slot map to masters, the member that does not own the range REPLICATEs the one that does: `completed` | same, exit 0 |
 */

/** One node's CLUSTER NODES, parsed by parseClusterNodes, and its own entry in it. */
export interface FormationView {
  readonly entries: readonly ClusterNodeEntry[]
  readonly myself: ClusterNodeEntry
}

export type FormationState = 'fresh' | 'formed' | 'partial' | 'refused'

export interface Formation {
  readonly state: FormationState
  /** fresh and partial: owners[i] is the index of the node that owns pair i's range, or is to own it. */
  readonly owners: readonly number[]
  /** refused: what contradicts the spec, one line each, naming the node. */
  readonly problems: readonly string[]
}

/** The stack as the table needs it: node names and each spec master's range. */
export interface FormationStack {
  readonly nodes: readonly Pick<StackNode, 'name' | 'slots' | 'added'>[]
}

/** Classifies the nodes' own views (in stack order) by the acceptance table above. Pure. */
export function classifyFormation(stack: FormationStack, views: readonly FormationView[]): Formation {
  const added = stack.nodes.filter((n) => n.added).map((n) => n.name)
  const m = (stack.nodes.length - added.length) / 2
  const pairs = Array.from({ length: m }, (_, i) => i)
  if (isFormed(views, stack.nodes.map((n) => n.added === true))) return { state: 'formed', owners: [], problems: [] }
  if (added.length > 0) {
    return { state: 'refused', owners: [], problems: [`added node(s) ${added.join(', ')} are not in a formed cluster with the other nodes: up forms the spec's nodes only, cluster:add-node joins an added one`] }
  }
  if (views.every((v) => v.entries.length === 1 && v.myself.slots.length === 0)) return { state: 'fresh', owners: pairs, problems: [] }

  const ids = views.map((v) => v.myself.id)
  const name = (j: number) => stack.nodes[j]!.name
  const range = (j: number): SlotRange => stack.nodes[j % m]!.slots!
  const partner = (j: number) => (j < m ? j + m : j - m)
  const owns = (j: number) => views[j]!.myself.slots.length > 0
  const problems = views.flatMap((v, j) => {
    const found: string[] = []
    for (const e of v.entries) {
      if (!e.flags.includes('handshake') && !ids.includes(e.id)) found.push(`${name(j)} knows a foreign node ${e.host}:${e.port}`)
    }
    const slots = formatRanges(v.myself.slots)
    if (owns(j) && slots !== formatRanges([range(j)])) found.push(`${name(j)} owns slots ${slots}, not its pair's range ${formatRanges([range(j)])}`)
    const { masterId } = v.myself
    if (masterId && masterId !== ids[partner(j)]) found.push(`${name(j)} replicates a node outside its pair with ${name(partner(j))}`)
    else if (masterId && !owns(partner(j))) found.push(`${name(j)} replicates ${name(partner(j))}, which owns no slots`)
    return found
  })
  for (const i of pairs) {
    if (owns(i) && owns(i + m)) problems.push(`${name(i)} and ${name(i + m)} both own slots ${formatRanges([range(i)])}`)
  }
  if (problems.length > 0) return { state: 'refused', owners: [], problems }
  return { state: 'partial', owners: pairs.map((i) => (owns(i + m) ? i + m : i)), problems: [] }
}

/** Rows 2 and 2a; `added[j]`: view j is an added node's, which as a master may own no slots or lack a replica (add-node's states). */
function isFormed(views: readonly FormationView[], added: readonly boolean[]): boolean {
  const ids = views.map((v) => v.myself.id)
  if (!views.every((v) => ids.every((id) => v.entries.some((e) => e.id === id)))) return false
  const slotOwners = new Uint8Array(SLOT_COUNT)
  for (const v of views) for (const r of v.myself.slots) for (let s = r.start; s <= r.end; s++) slotOwners[s]!++
  if (!slotOwners.every((count) => count === 1)) return false
  const masters = views.filter((v) => v.myself.role === 'master' && v.myself.slots.length > 0).map((v) => v.myself.id)
  const addedMaster = (j: number) => added[j] && views[j]!.myself.role === 'master'
  return (
    views.every((v, j) => masters.includes(v.myself.id) || addedMaster(j) || (v.myself.role === 'replica' && masters.includes(v.myself.masterId ?? ''))) &&
    masters.every((id) => addedMaster(ids.indexOf(id)) || views.some((v) => v.myself.masterId === id))
  )
}
