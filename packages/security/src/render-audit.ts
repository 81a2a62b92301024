import type { AuditReport } from './audit.ts'

const DAY_MS = 86_400_000

/** One line per check (PASS/FAIL, id, detail), `fix:` under each FAIL, then the list's date and a verdict. */
export function renderAudit(report: AuditReport, now = new Date()): string {
  const width = Math.max(...report.checks.map((c) => c.id.length))
  const lines = report.checks.flatMap((check) => [
    `${check.status}  ${check.id.padEnd(width)}  ${check.detail}`,
    ...(check.fix ? [`      ${' '.repeat(width)}  fix: ${check.fix}`] : []),
    ...(check.note ? [`      ${' '.repeat(width)}  note: ${check.note}`] : []),
  ])
  const age = Math.floor((now.getTime() - Date.parse(report.vulnerableList.updated)) / DAY_MS)
  const failed = report.checks.filter((c) => c.status === 'FAIL').length
  return [
    ...lines,
    '',
    `known-vulnerable version list: updated ${report.vulnerableList.updated} (${age} days ago)`,
    failed === 0 ? `audit passed: ${report.checks.length} checks on ${report.nodes} nodes (${report.runtime} runtime)` : `audit FAILED: ${failed} of ${report.checks.length} checks (${report.runtime} runtime, ${report.nodes} nodes)`,
  ].join('\n')
}
