import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStack, REPO_ROOT, type TestStack } from '@redis-cluster/test-utils'

/** Runs a root pnpm command the way the README tells users to. */
function pnpm(args: string[], env: Record<string, string>) {
  const result = spawnSync('pnpm', args, { cwd: REPO_ROOT, env: { ...process.env, ...env, TURBO_TELEMETRY_DISABLED: '1' }, encoding: 'utf8' })
  return { exitCode: result.status ?? 1, stdout: result.stdout, stderr: result.stderr }
}

describe('pnpm run up / status / down (through turbo)', () => {
  let test: TestStack
  beforeAll(async () => {
    test = await createTestStack()
  })
  afterAll(() => test?.cleanup())

  it('brings up a healthy cluster, is a no-op the second time, and down keeps the data', { timeout: 180_000 }, () => {
    const up = pnpm(['run', 'up'], test.env)
    expect(up.exitCode, up.stdout + up.stderr).toBe(0)
    expect(up.stdout).toMatch(/cluster created; healthy: 6 nodes/)

    const again = pnpm(['run', 'up'], test.env)
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toMatch(/all 6 nodes already running/)
    expect(again.stdout).toMatch(/cluster already formed; healthy/)

    const status = pnpm(['status', '--json'], test.env)
    expect(status.exitCode).toBe(0)
    expect(JSON.parse(status.stdout).ok).toBe(true) // stdout is only the JSON: no pnpm banner

    const down = pnpm(['run', 'down'], test.env)
    expect(down.exitCode).toBe(0)
    expect(down.stdout).toMatch(/stopped redis-node-0.*; data kept/)
  })

  it('passes the exit code through pnpm and turbo (78 for a missing secret)', () => {
    const up = pnpm(['run', 'up'], { ...test.env, REDIS_PASSWORD_FILE: `${test.dir}/missing.txt` })
    expect(up.exitCode).toBe(78)
    expect(up.stdout + up.stderr).toMatch(/missing.txt is missing/)
  })
})
