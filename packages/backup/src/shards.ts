import { ConfigError, REPLICA_MAX_BEHIND_BYTES, SLOT_COUNT, TemporaryError, answered, countSlots, formatRanges, isEntryOf, type NodeAnswer, type NodeReading, type NodeSilence, type SlotRange } from '@redis-cluster/core'
import type { NodeRef } from './manifest.ts'

export interface ShardPlan {
  readonly index: number
  readonly slots: readonly SlotRange[]
  readonly master: NodeRef
  readonly replicas: readonly NodeRef[]
  /** Where to pull from, and its DBSIZE as read just now. */
  readonly source: NodeAnswer
  readonly sourceRole: 'master' | 'replica'
}

export interface PlanShardsResult {
  readonly shards: readonly ShardPlan[]
  /** Shards that fell back to their master (only with allowMaster), one line each. */
  readonly notices: readonly string[]
}

/**
 * Chooses, per shard (a master owning slots), the node to back it up from:
 * its most caught-up replica whose link is up with no sync running and that
 * is within REPLICA_MAX_BEHIND_BYTES of its master (core's measure of caught
 * up), because a backup from a replica never makes the master fork. Without
 * one the shard is an error naming it, unless `allowMaster`: then the master
 * serves it (and forks), said in a notice. All shards' problems are reported
 * together; exit 75, as a replica resyncing is usually a passing state.
 */
export function planShards(readings: readonly NodeReading[], { allowMaster = false } = {}): PlanShardsResult {
  const answers = readings.filter(answered)
  const view = answers[0]
  if (!view) {
    // A password, certificate or permission every node refuses is the reason, and waiting will not change it (78).
    const refused = readings.find((r): r is NodeSilence => !answered(r) && r.error instanceof ConfigError)
    throw refused?.error ?? new TemporaryError('no node answered', 'start the cluster (`pnpm run up`) or check `pnpm status`')
  }
  const byId = new Map(answers.map((a) => [a.id, a]))
  // A silent node's id is unknown; it is the stack's node at the address its peers list it at: the port alone
  // is not enough where every node uses the same port on its own host (external runtime).
  const at = (host: string, port: number) => readings.find(({ node }) => isEntryOf({ host, port }, node))?.node.name
  const ref = (id: string, host: string, port: number): NodeRef => ({ id, name: byId.get(id)?.node.name ?? at(host, port) ?? `${host}:${port}` })
  const masters = view.entries.filter((e) => e.role === 'master' && e.slots.length > 0).sort((a, b) => a.slots[0]!.start - b.slots[0]!.start)
  const covered = masters.reduce((n, m) => n + countSlots(m.slots), 0)
  if (covered !== SLOT_COUNT) throw new TemporaryError(`${view.node.name} sees ${covered} of ${SLOT_COUNT} slots served: a backup would miss keys`, 'fix the cluster first (`pnpm status`, `pnpm cluster:fix`)')
  const problems: string[] = []
  const notices: string[] = []
  const shards: ShardPlan[] = []
  for (const [index, m] of masters.entries()) {
    const master = byId.get(m.id)
    const replicas = view.entries.filter((e) => e.masterId === m.id)
    const refs = replicas.map((r) => ref(r.id, r.host, r.port))
    const masterRef = ref(m.id, m.host, m.port)
    const label = `shard ${index} (slots ${formatRanges(m.slots)}, master ${masterRef.name})`
    const why: string[] = []
    const candidates = replicas.flatMap((entry) => {
      const replica = byId.get(entry.id)
      const problem = replicaProblem(replica, master)
      if (problem) why.push(`${ref(entry.id, entry.host, entry.port).name} ${problem}`)
      return problem ? [] : [replica!]
    })
    const best = candidates.sort((a, b) => Number(b.info.slave_repl_offset) - Number(a.info.slave_repl_offset))[0]
    const reason = why.length ? why.join(', ') : 'it has no replica'
    if (best) shards.push({ index, slots: m.slots, master: masterRef, replicas: refs, source: best, sourceRole: 'replica' })
    else if (allowMaster && master && master.info.loading !== '1') {
      shards.push({ index, slots: m.slots, master: masterRef, replicas: refs, source: master, sourceRole: 'master' })
      notices.push(`${label}: no caught-up replica (${reason}); pulling from the master itself, which forks for it`)
    } else problems.push(`${label}: ${reason}`)
  }
  if (problems.length) {
    throw new TemporaryError(
      `no caught-up replica to back up from: ${problems.join('; ')}`,
      `wait until the replicas are linked and caught up (\`pnpm status\`), or pass --allow-master to pull ${problems.length > 1 ? 'those shards' : 'that shard'} from the master (it forks)`,
    )
  }
  return { shards, notices }
}

/** Why a replica is no source for a backup, or undefined when it is one. */
function replicaProblem(replica: NodeAnswer | undefined, master: NodeAnswer | undefined): string | undefined {
  if (!replica) return 'does not answer'
  const { info } = replica
  if (info.loading === '1') return 'is loading its dataset'
  if (info.master_link_status !== 'up') return `has master_link_status:${info.master_link_status}`
  if (info.master_sync_in_progress !== '0') return 'is in an initial sync'
  if (!master) return 'has a master that does not answer'
  const behind = Number(master.info.master_repl_offset) - Number(info.slave_repl_offset)
  return behind > REPLICA_MAX_BEHIND_BYTES ? `is ${behind} bytes behind its master` : undefined
}
