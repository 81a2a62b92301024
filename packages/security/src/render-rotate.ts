import { renderTable } from '@redis-cluster/core'
import type { RotateResult } from './rotate.ts'

const VERDICT: Record<RotateResult['outcome'], (r: RotateResult) => string> = {
  rotated: (r) => `${r.user}'s password rotated${r.resumed ? ' (an interrupted rotation finished)' : ''}: every node accepts only the new one, ${r.secretFile} holds it`,
  pending: (r) => `${r.user}'s rotation is pending (--keep-old): every node accepts the old and the new password`,
  'rolled back': (r) => `${r.user}'s rotation rolled back: every node accepts only the old password of ${r.secretFile}`,
  nothing: (r) => `nothing to roll back for ${r.user}`,
}

/** One row per step and node, then the verdict and what the user must do next. */
export function renderRotate(result: RotateResult): string {
  const rows = result.steps.map((s) => [s.step, s.node ?? '-', s.detail])
  const table = rows.length > 0 ? [renderTable([['STEP', 'NODE', 'RESULT'], ...rows])] : []
  return [...table, VERDICT[result.outcome](result), ...result.notes.map((n) => `note: ${n}`)].join('\n')
}
