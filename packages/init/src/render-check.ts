import { describeDrift, renderTable } from '@redis-cluster/core'
import type { CheckResult } from './check.ts'

/** The verdict line; then a NODE/PROBLEM/FIX table; then the layout warning, if any. */
export function renderCheck(result: CheckResult): string {
  const reach = `${result.answered}/${result.nodes} nodes answer`
  const lines = result.healthy
    ? [`cluster ok (${reach})`]
    : [
        `cluster has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} (${reach}):`,
        renderTable([['NODE', 'PROBLEM', 'FIX'], ...result.problems.map((p) => [p.node, p.text.startsWith(`${p.node}: `) ? p.text.slice(p.node.length + 2) : p.text, p.fix])]),
      ]
  const drift = describeDrift(result)
  return [...lines, ...(drift ? [`warning: ${drift}`] : [])].join('\n')
}
