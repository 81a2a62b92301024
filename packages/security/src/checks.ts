import type { AuditCheck } from './audit.ts'
import { aclUsersCheck, appDeniedCheck, replicationUserCheck } from './acl-checks.ts'
import { clientPortsCheck } from './client-ports-check.ts'
import { argvCheck, secretFilesCheck } from './host-checks.ts'
import { defaultUserCheck, protectedModeCheck, versionCheck } from './node-checks.ts'

/**
 * The audit items, in the order they print: the ACL users (issue 13), the
 * network, the secrets, the version. TLS adds its checks here.
 */
export const AUDIT_CHECKS: readonly AuditCheck[] = [defaultUserCheck, appDeniedCheck, aclUsersCheck, replicationUserCheck, protectedModeCheck, clientPortsCheck, argvCheck, secretFilesCheck, versionCheck]
