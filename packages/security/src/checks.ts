import type { AuditCheck } from './audit.ts'
import { clientPortsCheck } from './client-ports-check.ts'
import { argvCheck, secretFilesCheck } from './host-checks.ts'
import { defaultUserCheck, protectedModeCheck, versionCheck } from './node-checks.ts'

/**
 * The audit items for the security model of today: one shared password
 * (requirepass/masterauth). ACL users and TLS add their checks here.
 */
export const AUDIT_CHECKS: readonly AuditCheck[] = [defaultUserCheck, protectedModeCheck, clientPortsCheck, argvCheck, secretFilesCheck, versionCheck]
