import { RcError, TemporaryError } from './errors.ts'
import { SLOT_COUNT, formatRanges } from './layout.ts'
import { isEntryOf, parseClusterNodes, type ClusterNodeEntry } from './cluster-nodes.ts'
import { connectAll, connectNode, parseInfo, type NodeClient } from './redis.ts'
import { describeRedisError, describeSubject } from './redis-errors.ts'
import type { Stack, StackNode } from './stack.ts'
import { waitFor } from './wait.ts'
import { slotFindings } from './_slot-claims.ts'
import { layoutDrift } from './layout-drift.ts'

/** What one node said about itself and the cluster, or why it said nothing. */
export type NodeReading = NodeAnswer | NodeSilence

export interface NodeAnswer {
  readonly node: StackNode
  readonly id: string
  /** Its CLUSTER NODES view; `myself` is its own entry. */
  readonly entries: readonly ClusterNodeEntry[]
  readonly myself: ClusterNodeEntry
  /** INFO server, clients, memory, persistence, stats, replication and keyspace, merged with CLUSTER INFO. */
  readonly info: Readonly<Record<string, string>>
  readonly keys: number
}

export interface NodeSilence {
  readonly node: StackNode
  readonly error: RcError
}

export const answered = (reading: NodeReading): reading is NodeAnswer => !('error' in reading)

/** Why a node said nothing, without the `redis-node-2 (127.0.0.1:6381) ` a row already shows. */
export function silenceReason({ node, error }: NodeSilence): string {
  const where = describeSubject(node)
  return error.message.startsWith(`${where} `) ? error.message.slice(where.length + 1) : error.message
}

/**
 * Reads every node in parallel: CLUSTER NODES, CLUSTER INFO, INFO, DBSIZE,
 * sent together (one round trip per node; `pnpm report` shows it all).
 * Uses the given clients (a wait polls with the same connections) or opens
 * its own; every call has a deadline, and a node that does not answer is a
 * reading with its typed error, never a hang or a throw.
 */
export async function readNodes(stack: Stack, clients?: readonly NodeClient[]): Promise<NodeReading[]> {
  return Promise.all(
    stack.nodes.map(async (node, i): Promise<NodeReading> => {
      let client = clients?.[i]
      try {
        client ??= await connectNode(stack, node, { connectTimeoutMs: 1000, commandTimeoutMs: 2000 })
        const [nodesText, clusterInfo, info, keys] = await Promise.all([client.cluster('NODES'), client.cluster('INFO'), client.info('server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'keyspace'), client.dbsize()])
        const entries = parseClusterNodes(nodesText as string)
        const myself = entries.find((e) => e.myself)!
        return { node, id: myself.id, entries, myself, info: { ...parseInfo(info), ...parseInfo(clusterInfo as string) }, keys }
      } catch (error) {
        return { node, error: describeRedisError(node, error) }
      } finally {
        if (!clients) client?.disconnect()
      }
    }),
  )
}

/** What kind of problem, so `cluster:check` names its fix and `cluster:fix` knows what to act on. */
export type ProblemKind = 'unreachable' | 'open-slot' | 'uncovered' | 'claimed-twice' | 'replica-link' | 'no-replica' | 'failing' | 'views' | 'unmet' | 'catching-up' | 'persistence' | 'formation' | 'empty-master' | 'foreign'

export interface Problem {
  readonly kind: ProblemKind
  /** The stack node it is about (`cluster` for uncovered slots). */
  readonly node: string
  /** The line naming the node, as in `problems`. */
  readonly text: string
  /** The command that fixes it. */
  readonly fix: string
  /** The slots concerned (open, uncovered, claimed twice). */
  readonly slots?: readonly number[]
}

/** The command that fixes each kind of problem. */
const FIXES: Readonly<Record<ProblemKind, string>> = {
  unreachable: 'pnpm run up (starts a stopped node; resume a paused one: kill -CONT / docker unpause)',
  'open-slot': 'pnpm cluster:fix',
  uncovered: 'pnpm cluster:fix',
  'claimed-twice': 'pnpm cluster:fix',
  'replica-link': 'pnpm cluster:fix',
  'no-replica': 'start its replica (`pnpm run up` for nodes this toolkit runs), then pnpm cluster:fix',
  failing: 'start the failing node (`pnpm run up` for nodes this toolkit runs), then pnpm cluster:check',
  views: 'pnpm cluster:fix (gossip may also settle it within seconds: pnpm cluster:check)',
  unmet: 'pnpm cluster:fix (meets the nodes again)',
  'catching-up': 'wait, then pnpm cluster:check',
  persistence: 'free disk space or fix the data dir permissions (see pnpm logs)',
  formation: 'pnpm run up (finishes an interrupted creation)',
  'empty-master': 'pnpm cluster:rebalance (moves slots onto it), or pnpm cluster:del-node to remove it',
  foreign: 'forget it on every node (pnpm cli -- -p PORT cluster forget ID), or add it to the stack',
}

export interface HealthReport {
  /** The one definition of healthy, used by `up`, `status` and every later command. */
  readonly healthy: boolean
  /** One line per problem, naming the node: "redis-node-4: master_link_status:down". */
  readonly problems: readonly string[]
  /** The same problems with their kind and fix. */
  readonly details: readonly Problem[]
  /** How the current layout differs from the spec's (healthy after a failover, but said); empty when it matches. */
  readonly drift: readonly string[]
  /** The command that puts the spec's layout back, when a failover swapped a pair. */
  readonly restore: readonly string[]
}

/** A replica this far behind its master (bytes) is not caught up; a live writer keeps every replica a little behind. */
export const REPLICA_MAX_BEHIND_BYTES = 1024 * 1024

/**
 * Healthy means: every node answers; each sees cluster_state:ok, all 16384
 * slots ok and every node; each slot is claimed by exactly one node and none
 * is open (migrating/importing); every node is a master owning slots or a
 * replica of one (an interrupted creation leaves slotless masters); every
 * master owning slots has a replica online and caught up, and every
 * replica's link is up with no sync running; every node's view of every
 * other node (role, master, slots, config epoch, no fail/pfail/noaddr/
 * handshake) agrees with that node's view of itself; no node failed its last
 * RDB save, AOF write or AOF rewrite (then it refuses writes with MISCONF,
 * or will lose them). Which node is master of which pair does not matter
 * here: a failover leaves a healthy cluster, and the drift from the spec's
 * layout is reported apart.
 */
export function assessHealth(stack: Stack, readings: readonly NodeReading[]): HealthReport {
  const answers = readings.filter(answered)
  const silent = readings.filter((r): r is NodeSilence => !answered(r))
  // a node this toolkit did not start is not started by `up`: the error's own hint says what to check
  const details: Problem[] = silent.map((r) => ({ kind: 'unreachable', node: r.node.name, text: r.error.message, fix: (r.node.remote && r.error.hint) || FIXES.unreachable }))
  const add = (kind: ProblemKind, node: string, what: string, slots?: readonly number[]) => details.push({ kind, node, text: `${node}: ${what}`, fix: FIXES[kind], ...(slots ? { slots } : {}) })
  // A silent node's id is unknown; others still list it, by the address it had.
  const isSilent = (entry: ClusterNodeEntry) => silent.some((r) => isEntryOf(entry, r.node))
  const selves = new Map(answers.map((a) => [a.id, a.myself]))
  const names = new Map(answers.map((a) => [a.id, a.node.name]))
  const nameOf = (entry: ClusterNodeEntry) => names.get(entry.id) ?? `${entry.host}:${entry.port}`
  for (const answer of answers) {
    const say = (kind: ProblemKind, what: string) => add(kind, answer.node.name, what)
    nodeProblems(stack, answer).forEach(([kind, what]) => say(kind, what))
    for (const entry of answer.entries) {
      const self = selves.get(entry.id)
      if (entry.unhealthy) say('failing', `sees ${nameOf(entry)} as ${entry.flags.filter((f) => f !== 'myself').join(',')}`)
      else if (!self && !isSilent(entry)) say('foreign', `knows ${nameOf(entry)}, which is not a node of this stack`)
      else if (self && (entry.role !== self.role || entry.masterId !== self.masterId)) say('views', `still sees ${nameOf(entry)} as ${entry.role}`)
      else if (self && formatRanges(entry.slots) !== formatRanges(self.slots)) say('views', `has a stale slot map for ${nameOf(entry)}`)
      else if (self && entry.configEpoch !== self.configEpoch) say('views', `sees ${nameOf(entry)} at config epoch ${entry.configEpoch}, it says ${self.configEpoch}`)
    }
    const { myself } = answer
    if (myself.role === 'master' && myself.slots.length === 0) {
      if (answer.node.added) say('empty-master', 'is an added master without slots yet')
      else say('formation', 'is a master without slots: it should replicate a master (an interrupted creation? run `pnpm run up`)')
    }
    if (myself.role === 'master' && myself.slots.length > 0) {
      const online = replicaLinks(answer).filter((r) => r.state === 'online')
      if (online.length === 0) say('no-replica', `master of ${formatRanges(myself.slots)} has no replica online: losing it loses those slots`)
      const offset = Number(answer.info.master_repl_offset)
      for (const r of online) if (offset - r.offset > REPLICA_MAX_BEHIND_BYTES) say('catching-up', `replica ${r.address} is ${offset - r.offset} bytes behind`)
    }
  }
  for (const f of slotFindings(answers, isSilent)) add(f.kind, f.node, f.what, f.slots)
  const { drift, restore } = layoutDrift(stack, answers)
  return { healthy: details.length === 0, problems: details.map((d) => d.text), details, drift, restore }
}

function nodeProblems(stack: Stack, { info }: NodeAnswer): [ProblemKind, string][] {
  const problems: [ProblemKind, string][] = []
  if (info.loading === '1') problems.push(['catching-up', 'is loading its dataset'])
  if (info.cluster_state !== 'ok') problems.push(['views', `cluster_state:${info.cluster_state}`])
  if (Number(info.cluster_slots_ok) !== SLOT_COUNT) problems.push(['views', `cluster_slots_ok:${info.cluster_slots_ok}/${SLOT_COUNT}`])
  if (Number(info.cluster_known_nodes) < stack.nodes.length) problems.push(['unmet', `knows ${info.cluster_known_nodes} of ${stack.nodes.length} nodes`])
  if (info.role === 'slave') {
    // The link reads down during a full sync too: that one only needs time (restarting it would start the sync over).
    if (info.master_sync_in_progress === '1') problems.push(['catching-up', 'initial sync in progress'])
    else if (info.master_link_status !== 'up') problems.push(['replica-link', `master_link_status:${info.master_link_status}`])
  }
  for (const field of ['rdb_last_bgsave_status', 'aof_last_write_status', 'aof_last_bgrewrite_status']) {
    if (info[field] !== undefined && info[field] !== 'ok') problems.push(['persistence', `cannot persist: ${field}:${info[field]} (disk full or data dir not writable? see its log)`])
  }
  return problems
}

export interface ReplicaLink {
  readonly ip: string
  readonly port: number
  readonly address: string
  readonly state: string
  readonly offset: number
  /** Seconds since the master last heard the replica's ack (replicas ack every second). */
  readonly lag: number
}

/** The master's INFO replication lines `slaveN:ip=..,port=..,state=online,offset=..,lag=..`. */
export function replicaLinks({ info }: Pick<NodeAnswer, 'info'>): ReplicaLink[] {
  return Array.from({ length: Number(info.connected_slaves ?? 0) }, (_, i) => {
    const fields = Object.fromEntries((info[`slave${i}`] ?? '').split(',').map((kv) => kv.split('=')))
    return { ip: fields.ip ?? '', port: Number(fields.port), address: `${fields.ip}:${fields.port}`, state: fields.state ?? 'unknown', offset: Number(fields.offset), lag: Number(fields.lag) }
  })
}

/**
 * Polls readNodes + assessHealth with the given connections (or its own,
 * opened once and closed at the end) until healthy; a node refusing our
 * password ends the wait at once. On timeout the error names each node that
 * is not ready and why.
 */
export async function waitForHealthy(stack: Stack, clients?: readonly NodeClient[], { timeoutMs = stack.timeoutMs }: { timeoutMs?: number } = {}): Promise<HealthReport> {
  if (!clients) {
    const own = await connectAll(stack)
    try {
      return await waitForHealthy(stack, own, { timeoutMs })
    } finally {
      own.forEach((client) => client.disconnect())
    }
  }
  let report: HealthReport | undefined
  await waitFor(
    async () => {
      const readings = await readNodes(stack, clients)
      const fatal = readings.find((r): r is NodeSilence => !answered(r) && !(r.error instanceof TemporaryError))
      if (fatal) throw fatal.error
      report = assessHealth(stack, readings)
      return report.healthy || summarize(report.problems)
    },
    { timeoutMs, intervalMs: 25, what: 'a healthy cluster', hint: 'run `pnpm status` to see each node, and `pnpm logs` for their logs' },
  )
  return report!
}

/** The first problems and how many more: a timeout message stays one readable line. */
export function summarize(problems: readonly string[], shown = 3): string {
  return problems.slice(0, shown).join('; ') + (problems.length > shown ? `; and ${problems.length - shown} more` : '')
}

/** One line when a failover moved masters away from the spec's layout, with the commands that move them back. */
export function describeDrift({ drift, restore }: Pick<HealthReport, 'drift' | 'restore'>): string | undefined {
  if (drift.length === 0) return undefined
  return `layout differs from the spec: ${drift.join('; ')}${restore.length ? `; restore with: ${restore.join(' && ')}` : ''}`
}
