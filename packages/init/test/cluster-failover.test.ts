import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assessHealth, connectAll, parseClusterNodes, readNodes, takeStackLock, TemporaryError, UsageError, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import { failoverNode, renderFailover, restoreLayout } from '../src/index.ts'

/** node name → role and the name of its master, read from the nodes themselves. */
async function roles(stack: Stack) {
  const readings = (await readNodes(stack)).filter((r) => 'id' in r)
  const nameOf = new Map(readings.map((r) => [r.id, r.node.name]))
  return Object.fromEntries(readings.map((r) => [r.node.name, r.myself.role === 'master' ? 'master' : `replica of ${nameOf.get(r.myself.masterId!)}`]))
}

describe('failoverNode() and restoreLayout()', () => {
  let test: TestStack
  let stack: Stack
  beforeAll(async () => {
    test = await createTestStack()
    stack = await formTestStack(test)
  }, 120_000)
  afterAll(async () => {
    for (const n of await localRuntime.ps(stack).catch(() => [])) if (n.pid) process.kill(n.pid, 'SIGCONT')
    await test?.cleanup()
  })

  it('works: a master hands over to its replica, and restoreLayout swaps them back', async () => {
    const lines: string[] = []
    const result = await failoverNode(stack, 'redis-node-0', { progress: (l) => lines.push(l) })
    expect(result).toMatchObject({ promoted: 'redis-node-3', demoted: 'redis-node-0', mode: 'default', healthy: true })
    expect(await roles(stack)).toMatchObject({ 'redis-node-3': 'master', 'redis-node-0': 'replica of redis-node-3' })
    expect(lines[0]).toMatch(/^redis-node-3: CLUSTER FAILOVER/)
    const report = assessHealth(stack, await readNodes(stack))
    expect(report).toMatchObject({ healthy: true, drift: ['redis-node-3 is master of 0-5460 in place of redis-node-0'], restore: ['pnpm cluster:failover --restore-layout'] })

    expect(await restoreLayout(stack)).toMatchObject({ swapped: ['redis-node-0'] })
    expect(await roles(stack)).toMatchObject({ 'redis-node-0': 'master', 'redis-node-3': 'replica of redis-node-0' })
    expect(assessHealth(stack, await readNodes(stack))).toMatchObject({ healthy: true, drift: [] })
  }, 120_000)

  it('restoreLayout is a no-op on the spec layout; a replica named by port takes over from its master', async () => {
    expect(await restoreLayout(stack)).toMatchObject({ swapped: [] })
    const result = await failoverNode(stack, `${stack.nodes[4]!.port}`)
    expect(result).toMatchObject({ promoted: 'redis-node-4', demoted: 'redis-node-1' })
    expect(await restoreLayout(stack)).toMatchObject({ swapped: ['redis-node-1'] })
  }, 120_000)

  it('restoreLayout says which drift no failover undoes (a slot moved to another pair)', async () => {
    const clients = await connectAll(stack)
    try {
      const ids = await Promise.all(clients.map(async (c) => parseClusterNodes((await c.cluster('NODES')) as string).find((e) => e.myself)!.id))
      const moveSlot0 = async (to: number) => {
        for (const c of clients.slice(0, 3)) await c.cluster('SETSLOT', 0, 'NODE', ids[to]!)
        await clients[to]!.cluster('BUMPEPOCH')
      }
      await moveSlot0(1) // slot 0 holds no key here
      try {
        const result = await restoreLayout(stack)
        expect(result).toMatchObject({ swapped: [], remaining: ["redis-node-0/redis-node-3 do not hold 0-5460 as the spec's master/replica pair", "redis-node-1/redis-node-4 do not hold 5461-10922 as the spec's master/replica pair"] })
        expect(renderFailover(result)).toMatch(/^no pair to swap back\nstill differs from the spec \(no failover undoes it\): redis-node-0\/redis-node-3/)
      } finally {
        await moveSlot0(0)
      }
      await expect.poll(async () => assessHealth(stack, await readNodes(stack)).drift, { timeout: 30_000 }).toEqual([])
    } finally {
      clients.forEach((c) => c.disconnect())
    }
  }, 90_000)

  it('refuses an unknown node', async () => {
    await expect(failoverNode(stack, 'redis-node-9')).rejects.toThrow(UsageError)
    await expect(failoverNode(stack, 'redis-node-9')).rejects.toThrow(/unknown node 'redis-node-9'/)
  })

  it('a paused node is a typed error, not a hang', async () => {
    const pid = (await localRuntime.ps(stack)).find((n) => n.node === 'redis-node-2')!.pid!
    process.kill(pid, 'SIGSTOP')
    try {
      await expect(restoreLayout(stack)).rejects.toThrow(TemporaryError)
      await expect(failoverNode(stack, 'redis-node-2')).rejects.toThrow(/redis-node-2 .*did not answer/)
      await expect(failoverNode(stack, 'redis-node-5')).rejects.toThrow(/redis-node-2 .*did not answer.*: a planned failover needs the master to answer/)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    // Paused past the node timeout, redis-node-2 may have lost its range to redis-node-5: restoreLayout takes it back (what a chaos drill does after).
    await restoreLayout(stack)
    expect(assessHealth(stack, await readNodes(stack))).toMatchObject({ healthy: true, drift: [] })
  }, 90_000)

  it('pnpm cluster:failover: --json result and time taken; --restore-layout swaps back; status names the command meanwhile', async () => {
    const result = await runCli('init/cluster-failover', ['redis-node-1', '--json'], test.env)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ promoted: 'redis-node-4', demoted: 'redis-node-1', mode: 'default', healthy: true, elapsedMs: expect.any(Number) })
    const status = await runCli('monitor/status', [], test.env)
    expect(status.stdout).toMatch(/layout differs from the spec: redis-node-4 is master of 5461-10922 in place of redis-node-1; restore with: pnpm cluster:failover --restore-layout/)
    const restored = await runCli('init/cluster-failover', ['--restore-layout'], test.env)
    expect(restored.exitCode, restored.stderr).toBe(0)
    expect(restored.stdout).toMatch(/^layout restored: redis-node-1 master again; cluster healthy \(\d+\.\d\ds\)$/m)
    expect(restored.stderr).toMatch(/redis-node-1: taking 5461-10922 back from redis-node-4/)
  }, 120_000)

  it('bad input exits 2; a second maintenance command while one runs exits 75', async () => {
    const bad: [string, string[]][] = [['name one node', []], ['name one node', ['redis-node-0', 'redis-node-1']], ['exclude each other', ['redis-node-0', '--force', '--takeover']], ['takes no node', ['redis-node-0', '--restore-layout']], ["unknown node 'nope'", ['nope']]]
    for (const [message, args] of bad) {
      const r = await runCli('init/cluster-failover', args, test.env)
      expect(r.exitCode, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(new RegExp(`${message}.*\n\\s*fix: `))
    }
    const lock = await takeStackLock(`${stack.dataDir}\0${stack.projectName}`, { command: 'cluster:fix' })
    try {
      const r = await runCli('init/cluster-failover', ['--restore-layout'], test.env)
      expect(r.exitCode).toBe(75)
      expect(r.stderr).toMatch(/the stack is locked by cluster:fix/)
    } finally {
      lock.release()
    }
  }, 60_000)
})
