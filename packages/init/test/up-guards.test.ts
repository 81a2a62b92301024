import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connectNode, isAlive, parseInfo } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, runCli, REPO_ROOT, type TestStack } from '@redis-cluster/test-utils'

const UP = join(REPO_ROOT, 'packages/init/scripts/up.ts')

/** `up` as a child we can signal; `via: 'sh'` puts a shell between us and it (as pnpm does), which we can kill. */
function startUp(env: Record<string, string>, via: 'node' | 'sh' = 'node') {
  const command = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(UP)}; true`
  const child: ChildProcess = via === 'sh' ? spawn('sh', ['-c', command], { env: { ...process.env, ...env } }) : spawn(process.execPath, ['--import', 'tsx', UP], { env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<{ exitCode: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr })))
  return { child, exited }
}

/** A conf whose replicas wait a minute before their first sync: `up` then sits in its health wait. */
function slowSyncConf(test: TestStack): string {
  const file = join(test.dir, 'slow-sync.conf')
  writeFileSync(file, readFileSync(join(REPO_ROOT, 'conf/redis.conf'), 'utf8').replace(/^repl-diskless-sync-delay .*$/m, 'repl-diskless-sync-delay 60'))
  return file
}

/**
 * Resolves once node 0 owns its slots and sees cluster_state:ok: `up` has
 * formed the cluster and waits for the replicas. Fails with up's output if it
 * ended before that.
 */
async function untilFormed(test: TestStack, env: Record<string, string>, up: ReturnType<typeof startUp>) {
  const stack = test.load(env)
  let ended: string | undefined
  void up.exited.then((r) => (ended = `up exited ${r.exitCode}: ${r.stderr}`))
  await expect
    .poll(
      async () => {
        if (ended) return ended
        const client = await connectNode(stack, stack.nodes[0]!).catch(() => undefined)
        if (!client) return false
        try {
          return parseInfo((await client.cluster('INFO')) as string).cluster_state === 'ok'
        } finally {
          client.disconnect()
        }
      },
      { timeout: 60_000, interval: 200 },
    )
    .toBe(true)
}

describe('up: lock, deadlines, interruptions', () => {
  let test: TestStack | undefined
  afterEach(async () => {
    await test?.cleanup()
    test = undefined
  })

  it('two runs at once: one forms the cluster, the other exits 75 naming the holder', async () => {
    test = await createTestStack()
    await localRuntime.start(test.load())
    const [a, b] = await Promise.all([runCli('init/up', [], test.env), runCli('init/up', [], test.env)])
    const codes = [a.exitCode, b.exitCode].sort()
    expect(codes, a.stderr + b.stderr).toEqual([0, 75])
    const loser = a.exitCode === 75 ? a : b
    expect(loser.stderr).toMatch(/the stack is locked by up.* \(pid \d+, running since \d{4}-/)
    expect(loser.stderr).not.toMatch(/internal error/)
    expect((await runCli('monitor/status', ['-q'], test.env)).exitCode).toBe(0)
  }, 120_000)

  it('a paused node (SIGSTOP) ends the run with 75 naming it, within the deadline', async () => {
    test = await createTestStack()
    await localRuntime.start(test.load())
    expect((await runCli('init/up', ['-q'], test.env)).exitCode).toBe(0)
    const pid = (await localRuntime.ps(test.load())).find((n) => n.node === 'redis-node-1')!.pid!
    process.kill(pid, 'SIGSTOP')
    try {
      const result = await runCli('init/up', [], { ...test.env, RC_TIMEOUT_MS: '3000' })
      expect(result.exitCode).toBe(75)
      expect(result.stderr, result.stderr).toMatch(/redis-node-1 \(127\.0\.0\.1:\d+\) did not answer/)
      expect(result.stderr).toMatch(/fix: /)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  }, 60_000)

  it('down while up waits: up stops at once (75, naming down), down stops the nodes', async () => {
    test = await createTestStack()
    const env = { ...test.env, RC_CONF_FILE: slowSyncConf(test) }
    await localRuntime.start(test.load(env))
    const up = startUp(env)
    await untilFormed(test, env, up)
    const down = await runCli('compose/down', [], env)
    expect(down.exitCode, down.stderr).toBe(0)
    const result = await up.exited
    expect(result.exitCode).toBe(75)
    expect(result.stderr).toMatch(/stopped: `down` \(pid \d+\) took over the stack/)
  }, 90_000)

  it('Ctrl-C stops it with exit 130', async () => {
    test = await createTestStack()
    const env = { ...test.env, RC_CONF_FILE: slowSyncConf(test) }
    await localRuntime.start(test.load(env))
    const up = startUp(env)
    await untilFormed(test, env, up)
    up.child.kill('SIGINT')
    const result = await up.exited
    expect(result.exitCode).toBe(130)
    expect(result.stderr).toMatch(/stopped by Ctrl-C/)
  }, 90_000)

  it('an orphaned run (its parent killed) stops instead of changing the cluster behind the user', async () => {
    test = await createTestStack()
    const env = { ...test.env, RC_CONF_FILE: slowSyncConf(test) }
    await localRuntime.start(test.load(env))
    const shell = startUp(env, 'sh')
    await untilFormed(test, env, shell)
    const upPid = Number(readFileSync(`/proc/${shell.child.pid}/task/${shell.child.pid}/children`, 'utf8').trim().split(' ')[0])
    expect(isAlive(upPid)).toBe(true)
    shell.child.kill('SIGKILL')
    await expect.poll(() => isAlive(upPid), { timeout: 10_000, interval: 100 }).toBe(false)
    const next = await runCli('init/up', [], { ...test.env, RC_TIMEOUT_MS: '1000' })
    expect(next.stderr).not.toMatch(/locked/)
  }, 90_000)
})
