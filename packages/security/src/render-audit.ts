import type { AuditReport } from './audit.ts'

/** One line per check (PASS/FAIL/SKIP, id, detail), `fix:` under each FAIL, `note:` where the check says what it cannot see, then a verdict. */
export function renderAudit(report: AuditReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length))
  const lines = report.checks.flatMap((check) => [
    `${check.status}  ${check.id.padEnd(width)}  ${check.detail}`,
    ...(check.fix ? [`      ${' '.repeat(width)}  fix: ${check.fix}`] : []),
    ...(check.note ? [`      ${' '.repeat(width)}  note: ${check.note}`] : []),
  ])
  const failed = report.checks.filter((c) => c.status === 'FAIL').length
  const skipped = report.checks.filter((c) => c.status === 'SKIP').length
  const ofThem = skipped > 0 ? `, ${skipped} skipped` : ''
  return [
    ...lines,
    '',
    failed === 0 ? `audit passed: ${report.checks.length} checks${ofThem} on ${report.nodes} nodes (${report.runtime} runtime)` : `audit FAILED: ${failed} of ${report.checks.length} checks${ofThem} (${report.runtime} runtime, ${report.nodes} nodes)`,
  ].join('\n')
}
