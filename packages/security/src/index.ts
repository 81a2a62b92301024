export { auditStack, judgeNodes, type AuditCheck, type AuditContext, type AuditReport, type CheckResult, type Verdict } from './audit.ts'
export { AUDIT_CHECKS } from './checks.ts'
export { renderAudit } from './render-audit.ts'
export { compareVersions, findVulnerabilities, loadVulnerableList, upgradeTarget, vulnerableListFile, type Vulnerability, type VulnerableList, type AffectedRange } from './vulnerable-versions.ts'
