import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'

describe('status', () => {
  let test: TestStack
  beforeAll(async () => {
    test = await createTestStack()
    const form = await runCli('init/up', ['--json'], test.env)
    expect(form.exitCode, form.stderr).toBe(0)
    expect(JSON.parse(form.stdout)).toMatchObject({ action: 'created', healthy: true, nodes: 6 })
  })
  afterAll(() => test?.cleanup())

  it('--json: one row per node with role, master, slots, keys, memory, clients, link', async () => {
    const result = await runCli('monitor/status', ['--json'], test.env)
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toBe('')
    const status = JSON.parse(result.stdout)
    expect(status.ok).toBe(true)
    expect(status.nodes).toHaveLength(6)
    expect(status.nodes[0]).toMatchObject({ node: 'redis-node-0', port: test.ports[0], up: true, role: 'master', slots: '0-5460', slotCount: 5461, keys: 0, link: '1 replica(s)', clusterState: 'ok' })
    expect(status.nodes[4]).toMatchObject({ node: 'redis-node-4', role: 'replica', master: 'redis-node-1', slots: '', link: 'up' })
    for (const node of status.nodes) {
      expect(node.memoryBytes).toBeGreaterThan(0)
      expect(node.clients).toBeGreaterThanOrEqual(1)
      expect(node.id).toMatch(/^[0-9a-f]{40}$/)
    }
  })

  it('prints a table, and exits 1 naming a node that is down', async () => {
    const table = await runCli('monitor/status', [], test.env)
    expect(table.stdout).toMatch(/^NODE +PORT +ROLE +MASTER +SLOTS +KEYS +MEMORY +CLIENTS +LINK +STATE$/m)
    expect(table.stdout).toMatch(/^redis-node-3 .* replica +redis-node-0 .* up +ok$/m)
    expect(table.stdout).toMatch(/^cluster ok$/m)

    const stack = test.load()
    const [replica] = (await localRuntime.ps(stack)).filter((n) => n.node === 'redis-node-5')
    process.kill(replica!.pid!, 'SIGKILL')
    const result = await runCli('monitor/status', [], test.env)
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toMatch(/^redis-node-5 +\d+ +down .*connection refused/m)
    expect(result.stdout).toMatch(/^cluster NOT healthy$/m)
  })
})
