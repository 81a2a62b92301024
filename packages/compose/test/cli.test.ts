import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'

describe('cli', () => {
  let test: TestStack
  beforeAll(async () => {
    test = await createTestStack()
    await localRuntime.start(test.load())
  })
  afterAll(() => test?.cleanup())

  it('works: runs redis-cli authenticated', async () => {
    const result = await runCli('compose/cli', ['--', '-p', `${test.ports[1]}`, 'ping'], test.env)
    expect(result).toMatchObject({ exitCode: 0, stdout: 'PONG\n' })
  })

  it('a wrong password is a configuration error (78) with a fix, not redis-cli text', async () => {
    const wrong = join(test.dir, 'wrong.txt')
    writeFileSync(wrong, 'not-the-password', { mode: 0o600 })
    const result = await runCli('compose/cli', ['--', '-p', `${test.ports[1]}`, 'ping'], { ...test.env, RC_PASSWORD_FILE: wrong })
    expect(result.exitCode).toBe(78)
    expect(result.stderr).toMatch(/^cli: redis-cli \(127\.0\.0\.1:\d+\) rejects the password in the secret file\n {2}fix: /)
  })

  it('a node that is down is 75; a command Redis refuses is 1 with its reply', async () => {
    const stopped = await runCli('compose/cli', ['--', '-p', '1', 'ping'], test.env)
    expect(stopped.exitCode).toBe(75)
    expect(stopped.stderr).toMatch(/is not running \(connection refused\)/)
    const refused = await runCli('compose/cli', ['--', '-p', `${test.ports[0]}`, 'no-such-command'], test.env)
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toMatch(/unknown command/)
  })

  it('a paused node (SIGSTOP) ends it at the run deadline with 75', async () => {
    const pid = (await localRuntime.ps(test.load())).find((n) => n.node === 'redis-node-2')!.pid!
    process.kill(pid, 'SIGSTOP')
    try {
      const result = await runCli('compose/cli', ['--', '-p', `${test.ports[2]}`, 'ping'], { ...test.env, RC_TIMEOUT_MS: '2000' })
      expect(result.exitCode).toBe(75)
      expect(result.stderr).toMatch(/did not finish within/)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  }, 30_000)
})
