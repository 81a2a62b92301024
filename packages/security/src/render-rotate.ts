import { renderTable } from '@redis-cluster/core'
import type { RotateResult } from './rotate.ts'

const VERDICT: Record<RotateResult['outcome'], (r: RotateResult) => string> = {
  rotated: (r) => `${r.user}'s password rotated${r.resumed ? ' (an interrupted rotation finished)' : ''}: every node accepts only the new one, ${r.secretFile} holds it`,
  pending: (r) => `${r.user}'s rotation is pending (--keep-old): every node accepts the old and the new password`,
  'rolled back': (r) => `${r.user}'s rotation rolled back: every node accepts only the old password of ${r.secretFile}`,
  nothing: (r) => `nothing to roll back for ${r.user}`,
}

/** One row per step (its nodes listed, `all N` when every node: they all finish before the next step), then the verdict and what to do next. */
export function renderRotate(result: RotateResult): string {
  const groups: { step: string; detail: string; nodes: string[] }[] = []
  for (const s of result.steps) {
    const last = groups.at(-1)
    if (last && last.step === s.step && last.detail === s.detail && s.node) last.nodes.push(s.node)
    else groups.push({ step: s.step, detail: s.detail, nodes: s.node ? [s.node] : [] })
  }
  const nodeCount = new Set(result.steps.flatMap((s) => (s.node ? [s.node] : []))).size
  const rows = groups.map((g) => [g.step, g.nodes.length === 0 ? '-' : g.nodes.length === nodeCount ? `all ${nodeCount}` : g.nodes.join(','), g.detail])
  const table = rows.length > 0 ? [renderTable([['STEP', 'NODES', 'RESULT'], ...rows])] : []
  return [...table, VERDICT[result.outcome](result), ...result.notes.map((n) => `note: ${n}`)].join('\n')
}
