import { describeDrift, formatBytes, renderTable } from '@redis-cluster/core'
import type { ClusterStatus } from './status.ts'

/** The table, then one verdict line, then each problem (or the layout drift and how to restore it). */
export function renderStatus(status: ClusterStatus): string {
  const header = ['NODE', 'PORT', 'ROLE', 'MASTER', 'SLOTS', 'KEYS', 'MEMORY', 'CLIENTS', 'LINK', 'STATE']
  const rows = status.nodes.map((n) =>
    n.up
      ? [n.node, `${n.port}`, n.role, n.master ?? '-', n.slots || '-', `${n.keys}`, formatBytes(n.memoryBytes ?? 0), `${n.clients}`, n.link ?? '-', n.clusterState ?? '-']
      : [n.node, `${n.port}`, 'down', '-', '-', '-', '-', '-', '-', n.error ?? 'unreachable'],
  )
  const verdict = status.ok ? ['cluster ok'] : [`cluster NOT healthy (${status.problems.length} problem${status.problems.length === 1 ? '' : 's'}):`, ...status.problems.map((p) => `  - ${p}`)]
  // A string, not a list: spreading it would print one character per line.
  const drift = describeDrift(status)
  return [renderTable([header, ...rows]), ...verdict, ...(drift ? [drift] : [])].join('\n')
}
