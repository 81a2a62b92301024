import { defineConfig } from 'vitest/config'

/**
 * The foundation's suites again with RC_TLS=1: test-utils' createTestStack then
 * makes every local stack TLS-only (certificates from `pnpm secrets:tls`), so
 * health, formation, failover, fix, backup and restore, rotation and the audit
 * are proven over TLS too, not only in the TLS suites of their own.
 */
const overTls = [
  'packages/monitor/test/status.test.ts',
  'packages/compose/test/local-runtime.test.ts',
  'packages/init/test/pnpm-commands.test.ts',
  'packages/init/test/up-guards.test.ts',
  'packages/init/test/form-cluster.test.ts',
  'packages/init/test/cluster-failover.test.ts',
  'packages/init/test/cluster-check-fix.test.ts',
  'packages/backup/test/backup.test.ts',
  'packages/backup/test/restore-logical.test.ts',
  'packages/backup/test/drill.test.ts',
  'packages/security/test/rotate.test.ts',
  'packages/security/test/acl-audit.test.ts',
]

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real redis-server processes on their own ports;
    // running files one at a time keeps a 2-core machine from timing out.
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: { name: 'plain', include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'] },
      },
      {
        extends: true,
        // a group of its own, never beside the plain project: one file at a time in all
        test: { name: 'tls', include: overTls, env: { RC_TLS: '1' }, sequence: { groupOrder: 1 } },
      },
    ],
  },
})
