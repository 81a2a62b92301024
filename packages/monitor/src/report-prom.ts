import { renderPromText, type PromMetric } from '@redis-cluster/core'
import type { ClusterReport, NodeUp, ShardTotals } from './report.ts'

/** Where `report --textfile DIR` writes, for node_exporter's textfile collector. */
export const REPORT_TEXTFILE = 'redis_cluster.prom'

type Kind = PromMetric['type']
const bit = (ok: boolean) => (ok ? 1 : 0)

/**
 * The metric names are an interface: alerts and the Grafana dashboard may
 * query them, so they are only ever added to, never renamed (README "Report"
 * lists them). All start with `redis_cluster_`, apart from the exporter's
 * own `redis_*` names. Per node: label `node`; per shard: label `shard` (its
 * slot ranges). A node that did not answer has only `..._node_up 0` and its
 * info line.
 */
const NODE_METRICS: readonly [string, Kind, string, (n: NodeUp) => number | undefined][] = [
  ['master', 'gauge', '1 for a master, 0 for a replica', (n) => bit(n.role === 'master')],
  ['slots', 'gauge', 'hash slots the node owns', (n) => n.slotCount],
  ['keys', 'gauge', 'keys in the node (DBSIZE)', (n) => n.keys],
  ['keys_with_expiry', 'gauge', 'keys with a TTL', (n) => n.keysWithExpiry],
  ['memory_used_bytes', 'gauge', 'used_memory', (n) => n.usedMemory],
  ['memory_peak_bytes', 'gauge', 'used_memory_peak', (n) => n.peakMemory],
  ['memory_max_bytes', 'gauge', 'maxmemory (0: no limit)', (n) => n.maxMemory],
  ['memory_fragmentation_ratio', 'gauge', 'mem_fragmentation_ratio', (n) => n.fragmentation],
  ['clients_connected', 'gauge', 'connected clients', (n) => n.clients],
  ['clients_blocked', 'gauge', 'clients blocked on a blocking command', (n) => n.blockedClients],
  ['ops_per_second', 'gauge', 'instantaneous_ops_per_sec', (n) => n.opsPerSec],
  ['commands_processed_total', 'counter', 'commands processed since the node started', (n) => n.commandsProcessed],
  ['keyspace_hits_total', 'counter', 'successful key lookups', (n) => n.hits],
  ['keyspace_misses_total', 'counter', 'failed key lookups', (n) => n.misses],
  ['hit_ratio', 'gauge', 'hits / (hits + misses) since start; absent before the first lookup', (n) => n.hitRatio ?? undefined],
  ['expired_keys_total', 'counter', 'keys expired', (n) => n.expiredKeys],
  ['evicted_keys_total', 'counter', 'keys evicted by maxmemory', (n) => n.evictedKeys],
  ['rejected_connections_total', 'counter', 'connections refused at maxclients', (n) => n.rejectedConnections],
  ['replication_offset_bytes', 'gauge', 'replication offset (master_repl_offset, or slave_repl_offset on a replica)', (n) => n.replicationOffset],
  ['replication_lag_bytes', 'gauge', "replica: bytes behind its master's offset", (n) => n.lagBytes],
  ['replication_lag_seconds', 'gauge', "replica: seconds since its master last heard the replica's ack (link up), or since the link went down", (n) => n.lagSeconds],
  ['replication_link_up', 'gauge', 'replica: 1 when master_link_status is up', (n) => (n.linkUp === undefined ? undefined : bit(n.linkUp))],
  ['rdb_last_save_timestamp_seconds', 'gauge', 'time of the last successful RDB save', (n) => n.rdbLastSave],
  ['rdb_last_save_ok', 'gauge', '1 when the last RDB save (BGSAVE) succeeded', (n) => bit(n.rdbLastSaveOk)],
  ['rdb_changes_since_last_save', 'gauge', 'writes since the last RDB save', (n) => n.rdbChangesSinceSave],
  ['aof_enabled', 'gauge', '1 when appendonly is on', (n) => bit(n.aofEnabled)],
  ['aof_last_write_ok', 'gauge', '1 when the last AOF write succeeded', (n) => bit(n.aofLastWriteOk)],
  ['aof_last_rewrite_ok', 'gauge', '1 when the last AOF rewrite succeeded', (n) => bit(n.aofLastRewriteOk)],
  ['aof_size_bytes', 'gauge', 'current AOF size (only with AOF on)', (n) => n.aofSize],
]

const SHARD_METRICS: readonly [string, string, (s: ShardTotals) => number][] = [
  ['nodes_up', 'nodes of the shard that answered', (s) => s.nodesUp],
  ['keys', "keys in the shard (its master's DBSIZE)", (s) => s.keys],
  ['memory_used_bytes', 'used_memory summed over the nodes of the shard that answered', (s) => s.usedMemory],
  ['replication_lag_max_bytes', 'the largest replica lag in the shard', (s) => s.maxLagBytes],
]

/** The report as Prometheus text exposition (`report --prom`, `--textfile`). */
export function renderReportProm(report: ClusterReport): string {
  const up = report.nodes.filter((n): n is NodeUp => n.up)
  const { totals } = report
  const cluster = (name: string, help: string, value: number): PromMetric => ({ name: `redis_cluster_report_${name}`, type: 'gauge', help, samples: [{ value }] })
  return renderPromText([
    cluster('complete', '1 when every node answered the last report', bit(report.complete)),
    cluster('timestamp_seconds', 'when the report was read', Date.parse(report.at) / 1000),
    cluster('nodes', 'nodes in the stack', totals.nodes),
    cluster('nodes_up', 'nodes that answered', totals.nodesUp),
    cluster('keys', "keys in the cluster (the masters' DBSIZE)", totals.keys),
    cluster('memory_used_bytes', 'used_memory summed over the nodes that answered', totals.usedMemory),
    cluster('ops_per_second', 'instantaneous_ops_per_sec summed over the nodes that answered', totals.opsPerSec),
    { name: 'redis_cluster_node_up', type: 'gauge', help: '1 when the node answered the report', samples: report.nodes.map((n) => ({ labels: { node: n.node }, value: bit(n.up) })) },
    {
      name: 'redis_cluster_node_info',
      type: 'gauge',
      help: 'always 1: the node address, role (down when it did not answer), master and shard as labels',
      samples: report.nodes.map((n) => ({ labels: { node: n.node, address: n.address, role: n.up ? n.role : 'down', master: (n.up && n.master) || '', shard: n.shard }, value: 1 })),
    },
    ...NODE_METRICS.map(([name, type, help, of]): PromMetric => ({
      name: `redis_cluster_node_${name}`,
      type,
      help,
      samples: up.flatMap((n) => {
        const value = of(n)
        return value === undefined ? [] : [{ labels: { node: n.node }, value }]
      }),
    })),
    ...SHARD_METRICS.map(([name, help, of]): PromMetric => ({ name: `redis_cluster_shard_${name}`, type: 'gauge', help, samples: report.shards.map((s) => ({ labels: { shard: s.shard }, value: of(s) })) })),
  ])
}
