import type { AuditReport } from './audit.ts'

/** One line per check (PASS/FAIL, id, detail), `fix:` under each FAIL, `note:` where the check says what it cannot see, then a verdict. */
export function renderAudit(report: AuditReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length))
  const lines = report.checks.flatMap((check) => [
    `${check.status}  ${check.id.padEnd(width)}  ${check.detail}`,
    ...(check.fix ? [`      ${' '.repeat(width)}  fix: ${check.fix}`] : []),
    ...(check.note ? [`      ${' '.repeat(width)}  note: ${check.note}`] : []),
  ])
  const failed = report.checks.filter((c) => c.status === 'FAIL').length
  return [
    ...lines,
    '',
    failed === 0 ? `audit passed: ${report.checks.length} checks on ${report.nodes} nodes (${report.runtime} runtime)` : `audit FAILED: ${failed} of ${report.checks.length} checks (${report.runtime} runtime, ${report.nodes} nodes)`,
  ].join('\n')
}
