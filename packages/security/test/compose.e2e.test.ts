import { chmodSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_IMAGE, composeUnavailable, createComposeTestStack, docker, runCli, type ComposeTestStack } from '@redis-cluster/test-utils'
import { auditStack, type CheckResult } from '../src/index.ts'
import { argvCheck, secretFilesCheck } from '../src/host-checks.ts'

// One real compose stack: what only compose has (published ports, container config, the 0640/999 secret).
const unavailable = composeUnavailable()
if (unavailable && process.env.CI !== 'true') console.warn(`security compose tests skipped: ${unavailable}`)

describe.skipIf(Boolean(unavailable) && process.env.CI !== 'true')('security:audit (compose runtime)', () => {
  let test: ComposeTestStack
  beforeAll(async () => {
    test = await createComposeTestStack()
    const up = await runCli('init/up', ['--json'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
  }, 180_000)
  afterAll(() => test?.cleanup(), 120_000)

  it('client ports published on REDIS_BIND_ADDRESS only, no bus port, secret 0640 group 999: PASS', async () => {
    const result = await runCli('security/security-audit', ['--json'], test.env)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ runtime: 'compose', nodes: 6 })
    const byId = Object.fromEntries(report.checks.map((c: CheckResult) => [c.id, c]))
    expect(byId['client-ports']).toMatchObject({ status: 'PASS', detail: 'client ports published on 127.0.0.1 only, bus ports not published (6 nodes)' })
    expect(byId['secret-files']).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/mode 0640, owner \d+:999$/) })
    expect(byId['password-in-argv']).toMatchObject({ status: 'PASS', detail: 'no process of this host and no container has the password in its argv or config' })
    // the offline image is Debian's 7.0.15 build: in the list, as on the local runtime
    expect(report.checks.filter((c: CheckResult) => c.status === 'FAIL').map((c: CheckResult) => c.id)).toEqual(['redis-version'])
    expect(result.exitCode).toBe(1)
  })

  it('a container with the password in its Env: FAIL naming the container, never the password; PASS once removed', async () => {
    const name = `${test.project}-leak`
    const run = docker(['run', '-d', '--name', name, '-e', `REDIS_PASSWORD=${test.password}`, '--entrypoint', 'sleep', TEST_IMAGE, '60'])
    expect(run.code, run.stderr).toBe(0)
    try {
      const check = (await auditStack(test.load(), [argvCheck])).checks[0]!
      expect(check).toMatchObject({ status: 'FAIL', detail: `container ${name} has the password in its Env`, fix: expect.stringContaining('recreate the containers') })
      expect(JSON.stringify(check)).not.toContain(test.password)
    } finally {
      docker(['rm', '-f', name])
    }
    expect((await auditStack(test.load(), [argvCheck])).checks[0]).toMatchObject({ status: 'PASS' })
  })

  it('secret file 0644: FAIL naming the chgrp/chmod compose needs', async () => {
    const file = test.load().secretFile
    chmodSync(file, 0o644)
    try {
      expect((await auditStack(test.load(), [secretFilesCheck])).checks[0]).toMatchObject({ status: 'FAIL', fix: `chgrp 999 ${file} && chmod 640 ${file}` })
    } finally {
      chmodSync(file, 0o640)
    }
  })

  it('bus ports published (RC_PUBLISH_BUS_PORTS=1): FAIL naming that setting', async () => {
    const up = await runCli('init/up', ['--json'], { ...test.env, RC_PUBLISH_BUS_PORTS: '1' })
    expect(up.exitCode, up.stderr).toBe(0)
    const result = await runCli('security/security-audit', ['--json'], { ...test.env, RC_PUBLISH_BUS_PORTS: '1' })
    const check = JSON.parse(result.stdout).checks.find((c: CheckResult) => c.id === 'client-ports')
    expect(result.exitCode).toBe(1)
    expect(check).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^redis-node-0: bus port \d+ published on 127\.0\.0\.1; /), fix: expect.stringMatching(/^unset RC_PUBLISH_BUS_PORTS .*pnpm down && pnpm run up$/) })
  }, 180_000)
})
