import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assessHealth, readNodes, takeStackLock } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { REPO_ROOT, createTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'

/**
 * Every scenario on one shared local cluster, in sequence: each drill puts
 * the stack back (healthy, spec layout), which is asserted after each one.
 * Node timeout 1500 ms: short enough to keep the failover drills at ~10 s,
 * with room for a loaded 2-core machine (a node starved of CPU for 1.5 s is
 * rare; pause-master-short pauses a quarter of it).
 */
describe('chaos drills (local runtime)', () => {
  let test: TestStack
  beforeAll(async () => {
    test = await createTestStack({ env: { REDIS_CLUSTER_NODE_TIMEOUT: '1500', RC_TIMEOUT_MS: '60000' } })
    const up = await runCli('init/up', ['--json'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
  })
  afterAll(() => test?.cleanup())

  const drill = async (args: readonly string[]) => {
    const result = await runCli('chaos/chaos', [...args, '--json'], test.env)
    expect([0, 1], result.stderr).toContain(result.exitCode)
    return { exitCode: result.exitCode, report: JSON.parse(result.stdout).drills[0] }
  }
  const failedExpectations = (report: { expectations: { ok: boolean }[] }) => report.expectations.filter((e) => !e.ok)
  /** What each drill must leave behind: every node running, healthy by core's definition, the spec's layout. */
  const expectPutBack = async () => {
    const stack = test.load()
    expect((await localRuntime.ps(stack)).map((n) => n.state)).toEqual(Array(6).fill('running'))
    const health = assessHealth(stack, await readNodes(stack))
    expect(health.problems).toEqual([])
    expect(health.drift).toEqual([])
  }

  it('kill-master --wait-replicas: the replica takes over within 1.5 x node timeout + 2 s, no acknowledged write lost', async () => {
    const { exitCode, report } = await drill(['kill-master', '--wait-replicas'])
    expect(failedExpectations(report)).toEqual([])
    expect(exitCode).toBe(0)
    expect(report).toMatchObject({ scenario: 'kill-master', waitReplicas: true, faulted: ['redis-node-0'], slots: '0-5460', nodeTimeoutMs: 1500, restored: ['redis-node-0'] })
    expect(report.writes.lost).toBe(0)
    expect(report.writes.acknowledged).toBeGreaterThan(0)
    expect(report.failoverAfterMs).toBeLessThanOrEqual(1500 * 1.5 + 2000)
    expect(report.layout).toContainEqual({ node: 'redis-node-0', role: 'replica', master: 'redis-node-3', slots: '' })
    await expectPutBack()
  })

  it('kill-master without --wait-replicas: the loss is reported, the writer recovers', async () => {
    const { exitCode, report } = await drill(['kill-master'])
    expect(failedExpectations(report)).toEqual([])
    expect(exitCode).toBe(0)
    expect(report.writableAfterMs).toBeGreaterThanOrEqual(report.failoverAfterMs - 50)
    expect(report.expectations).toContainEqual(expect.objectContaining({ expectation: expect.stringMatching(/lost are reported/), observed: `${report.writes.lost} lost` }))
    await expectPutBack()
  })

  it('kill-replica: no write fails, the replica resyncs', async () => {
    const { exitCode, report } = await drill(['kill-replica'])
    expect(failedExpectations(report)).toEqual([])
    expect(exitCode).toBe(0)
    expect(report).toMatchObject({ faulted: ['redis-node-3'], failoverAfterMs: null, writes: { failed: 0, lost: 0 } })
    await expectPutBack()
  })

  it('pause-master-long: failover, and the resumed master rejoins as a replica of the new one', async () => {
    const { exitCode, report } = await drill(['pause-master-long'])
    expect(failedExpectations(report)).toEqual([])
    expect(exitCode).toBe(0)
    expect(report.failoverAfterMs).toBeGreaterThan(0)
    expect(report.layout).toContainEqual({ node: 'redis-node-0', role: 'replica', master: 'redis-node-3', slots: '' })
    await expectPutBack()
  })

  it('pause-master-short: no failover, writes resume', async () => {
    const { exitCode, report } = await drill(['pause-master-short'])
    expect(failedExpectations(report)).toEqual([])
    expect(exitCode).toBe(0)
    expect(report).toMatchObject({ failoverAfterMs: null, restored: [] })
    expect(report.writableAfterMs).not.toBeNull()
    await expectPutBack()
  })

  it('kill-shard: the slots fail and the cluster is down; restarted, it is healthy with the data from disk', async () => {
    const { exitCode, report } = await drill(['kill-shard'])
    expect(failedExpectations(report)).toEqual([])
    expect(exitCode).toBe(0)
    expect(report.faulted).toEqual(['redis-node-0', 'redis-node-3'])
    expect(report.expectations[0].observed).toBe('4 nodes report cluster_state:fail and cluster_slots_ok:10923/16384')
    await expectPutBack()
  })

  it('restart-all: same node ids, healthy, nothing lost beyond appendfsync everysec', async () => {
    const ids = (await readNodes(test.load())).map((r) => ('id' in r ? r.id : undefined))
    const { exitCode, report } = await drill(['restart-all'])
    expect(failedExpectations(report)).toEqual([])
    expect(exitCode).toBe(0)
    expect(report.faulted).toHaveLength(6)
    expect((await readNodes(test.load())).map((r) => ('id' in r ? r.id : undefined))).toEqual(ids)
    await expectPutBack()
  })

  it('manual-failover: planned, nothing lost', async () => {
    const { exitCode, report } = await drill(['manual-failover'])
    expect(failedExpectations(report)).toEqual([])
    expect(exitCode).toBe(0)
    expect(report.writes.lost).toBe(0)
    expect(report.restored).toEqual(['redis-node-0'])
    await expectPutBack()
  })

  it('exits 1 when an expectation fails: pause-master-short paused past the node timeout fails over', async () => {
    const table = await runCli('chaos/chaos', ['pause-master-short', '--pause-ms', '5000'], test.env)
    expect(table.exitCode).toBe(1)
    expect(table.stdout).toMatch(/^pause-master-short +redis-node-0 +\d+\.\d+s .* FAILED$/m)
    // the only expectation that fails is the one the long pause breaks
    expect(table.stdout.match(/^ {2}FAILED .*$/gm)).toEqual([expect.stringMatching(/^ {2}FAILED no failover: the replica took over after \d+\.\d+s$/)])
    expect(table.stdout).toMatch(/^1 of 1 drills FAILED their expectations$/m)
    await expectPutBack()
  })

  it("a drill's own deadline bounds it: a 10-minute --pause-ms stops at RC_TIMEOUT_MS (75), and the stack is put back", async () => {
    // Without its deadline this drill would sleep for 10 minutes and the test would time out.
    const result = await runCli('chaos/chaos', ['pause-master-short', '--pause-ms', '600000'], { ...test.env, RC_TIMEOUT_MS: '10000' })
    expect(result.exitCode, result.stderr).toBe(75)
    expect(result.stderr).toMatch(/^chaos: the pause-master-short drill did not finish within 10s \(RC_TIMEOUT_MS\)\n {2}fix: .*raise RC_TIMEOUT_MS/m)
    await expectPutBack()
  })

  it('refuses a cluster that is not healthy (75), and touches nothing; so does --all, whose first drill gets that far with the default deadline', async () => {
    const stack = test.load()
    await localRuntime.fault(stack, [stack.nodes[5]!], 'kill')
    try {
      // RC_TIMEOUT_MS is the default (60 s) here: each drill has a deadline of its own, so --all no longer asks
      // for 7 x 40 s up front; its first drill refusing proves it started without running all seven.
      for (const args of [['kill-master'], ['--all']]) {
        const result = await runCli('chaos/chaos', args, test.env)
        expect(result.exitCode, result.stderr).toBe(75)
        expect(result.stderr).toMatch(/^chaos: the cluster is not healthy, so a drill would measure an old fault: redis-node-5/m)
        expect((await localRuntime.ps(stack)).filter((n) => n.state === 'running')).toHaveLength(5)
      }
    } finally {
      await localRuntime.start(stack)
    }
    // restarted, the replica answers PING before its resync is done
    await expect.poll(async () => assessHealth(stack, await readNodes(stack)).problems, { timeout: 30_000, interval: 100 }).toEqual([])
    expect(assessHealth(stack, await readNodes(stack)).drift).toEqual([])
  })

  it('refuses nodes this toolkit did not start (78) unless told; even then it signals only what it can name', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'rc-chaos-foreign-'))
    try {
      const env = { ...test.env, RC_DATA_DIR: elsewhere } // same ports, no pid files: a cluster someone else started
      const refused = await runCli('chaos/chaos', ['kill-master'], env)
      expect(refused.exitCode).toBe(78)
      expect(refused.stderr).toMatch(/redis-node-0, .*redis-node-5 answer but are not nodes this toolkit started \(local runtime\)/)
      expect(refused.stderr).toMatch(/fix: .*--i-know-this-is-destructive/)
      const forced = await runCli('chaos/chaos', ['kill-master', '--i-know-this-is-destructive'], env)
      expect(forced.exitCode).toBe(78)
      expect(forced.stderr).toMatch(/redis-node-0 is not a redis-server this toolkit started/)
    } finally {
      rmSync(elsewhere, { recursive: true, force: true })
    }
    await expectPutBack()
  })

  it('takes the stack lock: a drill while another command holds it exits 75', async () => {
    const stack = test.load()
    const lock = await takeStackLock(`${stack.dataDir}\0${stack.projectName}`, { command: 'backup' })
    try {
      const result = await runCli('chaos/chaos', ['kill-master'], test.env)
      expect(result.exitCode).toBe(75)
      expect(result.stderr).toMatch(/backup/)
    } finally {
      lock.release()
    }
  })

  it('usage errors exit 2 and name the scenarios', async () => {
    const results = []
    // one after another: each takes the stack lock before it reads its arguments
    for (const args of [[], ['nope'], ['kill-master', '--all'], ['kill-master', '--pause-ms', '2s']]) results.push(await runCli('chaos/chaos', args, test.env))
    expect(results.map((r) => r.exitCode)).toEqual([2, 2, 2, 2])
    expect(results[1]!.stderr).toMatch(/unknown scenario 'nope'\n {2}fix: scenarios: kill-master, kill-replica, pause-master-long/)
  })

  it('Ctrl-C during a drill puts the stack back before the command exits', async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'run.mjs'), 'chaos', 'chaos', 'kill-shard'], { env: { ...process.env, ...test.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk
        if (/fault on redis-node-0/.test(stderr)) resolve()
      })
      child.on('close', () => reject(new Error(`exited before the fault: ${stderr}`)))
    })
    const stack = test.load()
    await expect.poll(async () => (await localRuntime.ps(stack)).filter((n) => n.state === 'running').length, { timeout: 10_000, interval: 20 }).toBeLessThan(6)
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(stderr).toMatch(/^chaos: stopped by Ctrl-C/m)
    expect((await localRuntime.ps(stack)).map((n) => n.state)).toEqual(Array(6).fill('running'))
    const health = assessHealth(stack, await readNodes(stack))
    expect(health.problems).toEqual([])
    expect(health.drift).toEqual([])
  })
})
