import { formatBytes, renderTable } from '@redis-cluster/core'
import type { ClusterStatus } from './status.ts'

export function renderStatus(status: ClusterStatus): string {
  const header = ['NODE', 'PORT', 'ROLE', 'MASTER', 'SLOTS', 'KEYS', 'MEMORY', 'CLIENTS', 'LINK', 'STATE']
  const rows = status.nodes.map((n) =>
    n.up
      ? [n.node, `${n.port}`, n.role, n.master ?? '-', n.slots || '-', `${n.keys}`, formatBytes(n.memoryBytes ?? 0), `${n.clients}`, n.link ?? '-', n.clusterState ?? '-']
      : [n.node, `${n.port}`, 'down', '-', '-', '-', '-', '-', '-', n.error ?? 'unreachable'],
  )
  return `${renderTable([header, ...rows])}\n${status.ok ? 'cluster ok' : 'cluster NOT healthy'}`
}
