#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { AUDIT_CHECKS, auditStack, renderAudit } from '../src/index.ts'

await runScript({
  name: 'security:audit',
  description: 'checks the running stack: PASS/FAIL per item, each FAIL with its fix (exit 1 on any FAIL)',
  run: ({ stack }) => auditStack(stack, AUDIT_CHECKS),
  render: (report) => renderAudit(report),
  exitCode: (report) => (report.ok ? 0 : 1),
})
