import type { AuditCheck } from './audit.ts'
import { aclUsersCheck, appDeniedCheck, replicationUserCheck } from './acl-checks.ts'
import { clientPortsCheck } from './client-ports-check.ts'
import { argvCheck, secretFilesCheck } from './host-checks.ts'
import { defaultUserCheck, protectedModeCheck, versionCheck } from './node-checks.ts'
import { tlsCheck } from './tls-check.ts'

/**
 * The audit items, in the order they print: the ACL users (issue 13), the
 * network and TLS, the secrets, the version.
 */
export const AUDIT_CHECKS: readonly AuditCheck[] = [defaultUserCheck, appDeniedCheck, aclUsersCheck, replicationUserCheck, protectedModeCheck, clientPortsCheck, tlsCheck, argvCheck, secretFilesCheck, versionCheck]
