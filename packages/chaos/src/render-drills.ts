import { renderTable } from '@redis-cluster/core'
import type { DrillsResult } from './run-drills.ts'

const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(2)}s`)

/** One row per drill (recovery times, writes, throughput), then each drill's expectations and the layout it left. */
export function renderDrills({ ok, drills }: DrillsResult): string {
  const rows = [
    ['SCENARIO', 'FAULTED', 'FAILOVER', 'WRITABLE', 'HEALTHY', 'ACKED', 'FAILED', 'LOST', 'WRITES/S BEFORE/DURING/AFTER', 'RESULT'],
    ...drills.map((d) => [
      d.scenario,
      d.faulted.length > 2 ? `${d.faulted.length} nodes` : d.faulted.join('+'),
      seconds(d.failoverAfterMs),
      seconds(d.writableAfterMs),
      seconds(d.healthyAfterMs),
      `${d.writes.acknowledged}`,
      `${d.writes.failed}`,
      `${d.writes.lost}`,
      `${d.throughput.before}/${d.throughput.during}/${d.throughput.after}`,
      d.ok ? 'ok' : 'FAILED',
    ]),
  ]
  const details = drills.map((d) => {
    const layout = d.layout.map((n) => `${n.node} ${n.role}${n.master ? ` of ${n.master}` : ` ${n.slots}`}`).join(', ')
    return [
      `${d.scenario} (${d.runtime}, node timeout ${seconds(d.nodeTimeoutMs)}${d.waitReplicas ? ', --wait-replicas' : ''}; fault at ${d.faultAt} on slots ${d.slots}):`,
      ...d.expectations.map((e) => `  ${e.ok ? 'ok    ' : 'FAILED'} ${e.expectation}: ${e.observed}`),
      `  layout after the drill: ${layout}`,
      `  put back: ${d.restored.length ? `failed over back to ${d.restored.join(', ')}` : 'the layout held'}`,
    ].join('\n')
  })
  const summary = ok ? `${drills.length === 1 ? 'drill' : `all ${drills.length} drills`} passed` : `${drills.filter((d) => !d.ok).length} of ${drills.length} drills FAILED their expectations`
  return [renderTable(rows), '', ...details, '', summary].join('\n')
}
