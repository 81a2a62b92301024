import { answered, countSlots, formatRanges, isEntryOf, readNodes, replicaLinks, silenceReason, type ClusterNodeEntry, type NodeAnswer, type NodeClient, type NodeReading, type Stack, type StackNode } from '@redis-cluster/core'

/** A node that answered: what `pnpm report` shows of it (memory in bytes, times in epoch seconds). */
export interface NodeUp {
  readonly node: string
  readonly address: string
  readonly up: true
  readonly role: 'master' | 'replica'
  /** Name of the master a replica replicates. */
  readonly master?: string
  /** The slot ranges of the node's shard (its master's); '-' for a master without slots. */
  readonly shard: string
  readonly slots: string
  readonly slotCount: number
  readonly keys: number
  readonly keysWithExpiry: number
  readonly usedMemory: number
  readonly peakMemory: number
  /** 0 when no maxmemory is set. */
  readonly maxMemory: number
  readonly fragmentation: number
  readonly clients: number
  readonly blockedClients: number
  readonly opsPerSec: number
  readonly commandsProcessed: number
  readonly hits: number
  readonly misses: number
  /** hits / (hits + misses); null before the first lookup. */
  readonly hitRatio: number | null
  readonly expiredKeys: number
  readonly evictedKeys: number
  readonly rejectedConnections: number
  readonly replicationOffset: number
  /** Replicas: bytes behind the master (when the master answered). */
  readonly lagBytes?: number
  /** Replicas: seconds since the master last heard its ack (link up), or since the link went down. */
  readonly lagSeconds?: number
  readonly linkUp?: boolean
  readonly rdbLastSave: number
  readonly rdbLastSaveOk: boolean
  readonly rdbChangesSinceSave: number
  readonly aofEnabled: boolean
  readonly aofLastRewriteOk: boolean
  readonly aofLastWriteOk: boolean
  /** Only when AOF is enabled. */
  readonly aofSize?: number
}

/** A node that did not answer: down, paused, refusing our password. */
export interface NodeDown {
  readonly node: string
  readonly address: string
  readonly up: false
  /** What the other nodes say it was, when they know it. */
  readonly role?: 'master' | 'replica'
  readonly shard: string
  readonly error: string
}

export type NodeRow = NodeUp | NodeDown

export interface ShardTotals {
  readonly shard: string
  /** The shard's master now, if known. */
  readonly master?: string
  readonly nodes: readonly string[]
  readonly nodesUp: number
  readonly slotCount: number
  /** The master's keys (replicas hold copies). */
  readonly keys: number
  readonly keysWithExpiry: number
  readonly usedMemory: number
  readonly opsPerSec: number
  readonly maxLagBytes: number
}

export interface ClusterReport {
  /** ISO time the report was read. */
  readonly at: string
  /** Every node answered; an incomplete report exits 1. */
  readonly complete: boolean
  readonly nodes: readonly NodeRow[]
  readonly shards: readonly ShardTotals[]
  readonly totals: {
    readonly nodes: number
    readonly nodesUp: number
    readonly keys: number
    readonly keysWithExpiry: number
    readonly usedMemory: number
    readonly opsPerSec: number
    readonly clients: number
    readonly expiredKeys: number
    readonly evictedKeys: number
    readonly rejectedConnections: number
  }
}

/**
 * Reads every node at once (core's readNodes: one pipelined round trip per
 * node, DBSIZE and INFO, never KEYS) and shapes the report. A node that does
 * not answer is a row saying why; the report is then incomplete.
 */
export async function collectReport(stack: Stack, clients?: readonly NodeClient[]): Promise<ClusterReport> {
  return shapeReport(await readNodes(stack, clients), new Date())
}

export function shapeReport(readings: readonly NodeReading[], at: Date): ClusterReport {
  const answers = readings.filter(answered)
  const known = knownEntries(readings)
  const nameOf = (id: string | undefined) => readings.find((r) => known.get(r.node.index)?.id === id)?.node.name
  const shardOf = (entry: ClusterNodeEntry | undefined): string => {
    if (!entry) return '?'
    const owner = entry.masterId ? answers.flatMap((a) => a.entries).find((e) => e.id === entry.masterId) : entry
    return owner ? formatRanges(owner.slots) || '-' : '?'
  }
  const nodes = readings.map((reading): NodeRow => {
    const address = `${reading.node.host}:${reading.node.port}`
    const entry = known.get(reading.node.index)
    if (!answered(reading)) {
      // A failed master that lost its slots to its replica says nothing in the peers' view: place it by the spec's layout, if the stack has one.
      const shard = shardOf(entry)
      return { node: reading.node.name, address, up: false, ...(entry ? { role: entry.role } : {}), shard: /^\d/.test(shard) ? shard : specShard(readings, reading.node), error: silenceReason(reading) }
    }
    const master = answers.find((a) => a.id === reading.myself.masterId)
    return nodeRow(reading, address, shardOf(reading.myself), nameOf(reading.myself.masterId), master)
  })
  return { at: at.toISOString(), complete: answers.length === readings.length, nodes, shards: shardTotals(nodes), totals: clusterTotals(nodes) }
}

/** The slot range of the node's pair in the spec's layout, '?' when the stack has none (an external cluster). */
function specShard(readings: readonly NodeReading[], node: StackNode): string {
  const master = node.slots ? node : readings.find((r) => r.node.index === node.masterIndex)?.node
  return master?.slots ? formatRanges([master.slots]) : '?'
}

/** Each node's own CLUSTER NODES entry: its own when it answered, else the first peer's entry for its address. */
function knownEntries(readings: readonly NodeReading[]): Map<number, ClusterNodeEntry> {
  const peers = readings.filter(answered).flatMap((a) => a.entries)
  const at = (node: StackNode) => peers.find((e) => isEntryOf(e, node))
  return new Map(readings.flatMap((r) => {
    const entry = answered(r) ? r.myself : at(r.node)
    return entry ? [[r.node.index, entry] as const] : []
  }))
}

function nodeRow({ node, myself, info, keys }: NodeAnswer, address: string, shard: string, masterName: string | undefined, master: NodeAnswer | undefined): NodeUp {
  const n = (field: string) => Number(info[field] ?? 0)
  const [hits, misses] = [n('keyspace_hits'), n('keyspace_misses')]
  const replica = myself.role === 'replica'
  const linkUp = info.master_link_status === 'up'
  return {
    node: node.name,
    address,
    up: true,
    role: myself.role,
    ...(replica ? { master: masterName ?? myself.masterId?.slice(0, 8) ?? '?' } : {}),
    shard,
    slots: formatRanges(myself.slots),
    slotCount: countSlots(myself.slots),
    keys,
    keysWithExpiry: Number(/expires=(\d+)/.exec(info.db0 ?? '')?.[1] ?? 0),
    usedMemory: n('used_memory'),
    peakMemory: n('used_memory_peak'),
    maxMemory: n('maxmemory'),
    fragmentation: n('mem_fragmentation_ratio'),
    clients: n('connected_clients'),
    blockedClients: n('blocked_clients'),
    opsPerSec: n('instantaneous_ops_per_sec'),
    commandsProcessed: n('total_commands_processed'),
    hits,
    misses,
    hitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
    expiredKeys: n('expired_keys'),
    evictedKeys: n('evicted_keys'),
    rejectedConnections: n('rejected_connections'),
    replicationOffset: n(replica ? 'slave_repl_offset' : 'master_repl_offset'),
    ...(replica
      ? {
          ...(master ? { lagBytes: Math.max(0, Number(master.info.master_repl_offset) - n('slave_repl_offset')) } : {}),
          lagSeconds: linkUp ? (ackAge(master, node) ?? n('master_last_io_seconds_ago')) : n('master_link_down_since_seconds'),
          linkUp,
        }
      : {}),
    rdbLastSave: n('rdb_last_save_time'),
    rdbLastSaveOk: info.rdb_last_bgsave_status === 'ok',
    rdbChangesSinceSave: n('rdb_changes_since_last_save'),
    aofEnabled: info.aof_enabled === '1',
    aofLastRewriteOk: info.aof_last_bgrewrite_status === 'ok',
    aofLastWriteOk: info.aof_last_write_status === 'ok',
    ...(info.aof_enabled === '1' ? { aofSize: n('aof_current_size') } : {}),
  }
}

/**
 * Seconds since the master last heard the replica's ack (`slaveN:...,lag=`
 * in the master's INFO; replicas ack every second, so 0-1 is in sync), as
 * redis_exporter's connected_slave_lag_seconds reads it.
 */
function ackAge(master: NodeAnswer | undefined, replica: StackNode): number | undefined {
  return master && replicaLinks(master).find((r) => isEntryOf({ host: r.ip, port: r.port }, replica))?.lag
}

/** One entry per shard, in slot order; nodes whose shard nobody knows ('?') last. */
function shardTotals(nodes: readonly NodeRow[]): ShardTotals[] {
  const shards = [...new Set(nodes.map((n) => n.shard))].sort((a, b) => (a === '?' ? 1 : b === '?' ? -1 : firstSlot(a) - firstSlot(b)))
  return shards.map((shard) => {
    const members = nodes.filter((n) => n.shard === shard)
    const up = members.filter((n): n is NodeUp => n.up)
    const master = members.find((n) => n.up && n.role === 'master') ?? members.find((n) => n.role === 'master')
    const masterUp = up.find((n) => n.role === 'master')
    return {
      shard,
      ...(master ? { master: master.node } : {}),
      nodes: members.map((n) => n.node),
      nodesUp: up.length,
      slotCount: masterUp?.slotCount ?? 0,
      keys: masterUp?.keys ?? 0,
      keysWithExpiry: masterUp?.keysWithExpiry ?? 0,
      usedMemory: sum(up, (n) => n.usedMemory),
      opsPerSec: sum(up, (n) => n.opsPerSec),
      maxLagBytes: Math.max(0, ...up.map((n) => n.lagBytes ?? 0)),
    }
  })
}

function clusterTotals(nodes: readonly NodeRow[]): ClusterReport['totals'] {
  const up = nodes.filter((n): n is NodeUp => n.up)
  const masters = up.filter((n) => n.role === 'master')
  return {
    nodes: nodes.length,
    nodesUp: up.length,
    keys: sum(masters, (n) => n.keys),
    keysWithExpiry: sum(masters, (n) => n.keysWithExpiry),
    usedMemory: sum(up, (n) => n.usedMemory),
    opsPerSec: sum(up, (n) => n.opsPerSec),
    clients: sum(up, (n) => n.clients),
    expiredKeys: sum(up, (n) => n.expiredKeys),
    evictedKeys: sum(up, (n) => n.evictedKeys),
    rejectedConnections: sum(up, (n) => n.rejectedConnections),
  }
}

const sum = <T>(items: readonly T[], of: (item: T) => number) => items.reduce((total, item) => total + of(item), 0)
const firstSlot = (ranges: string) => (/^\d+/.test(ranges) ? Number.parseInt(ranges, 10) : Infinity)
