import { writeFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { connectAll, connectNode, parseInfo, type NodeClient } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'

describe('status', () => {
  let test: TestStack
  const extra: NodeClient[] = []
  beforeAll(async () => {
    test = await createTestStack()
    const form = await runCli('init/up', ['--json'], test.env)
    expect(form.exitCode, form.stderr).toBe(0)
    expect(JSON.parse(form.stdout)).toMatchObject({ action: 'created', healthy: true, nodes: 6 })
  })
  afterEach(() => extra.splice(0).forEach((c) => c.disconnect()))
  afterAll(() => test?.cleanup())

  it('--json: one row per node with role, master, slots, keys, memory, clients, link', async () => {
    const stack = test.load()
    // five connections of ours to redis-node-2 must show up in its client count, and only there
    for (let i = 0; i < 5; i++) extra.push(await connectNode(stack, stack.nodes[2]!))
    const result = await runCli('monitor/status', ['--json'], test.env)
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toBe('')
    const status = JSON.parse(result.stdout)
    expect(status).toMatchObject({ ok: true, problems: [], drift: [] })
    expect(status.nodes).toHaveLength(6)
    expect(status.nodes[0]).toMatchObject({ node: 'redis-node-0', port: test.ports[0], up: true, role: 'master', slots: '0-5460', slotCount: 5461, keys: 0, link: '1 replica(s)', clusterState: 'ok' })
    expect(status.nodes[4]).toMatchObject({ node: 'redis-node-4', role: 'replica', master: 'redis-node-1', slots: '', link: 'up' })
    expect(status.nodes[2].clients - status.nodes[1].clients).toBe(5)
    for (const node of status.nodes) {
      expect(node.memoryBytes).toBeGreaterThan(0)
      expect(node.id).toMatch(/^[0-9a-f]{40}$/)
    }
  })

  it('answers within its deadline when a node is paused (SIGSTOP), naming it', async () => {
    const [paused] = (await localRuntime.ps(test.load())).filter((n) => n.node === 'redis-node-4')
    process.kill(paused!.pid!, 'SIGSTOP')
    try {
      const result = await runCli('monitor/status', [], test.env)
      expect(result.exitCode).toBe(1)
      expect(result.stdout).toMatch(/^redis-node-4 +\d+ +down .*did not answer/m)
      expect(result.stdout).toMatch(/^cluster NOT healthy/m)
    } finally {
      process.kill(paused!.pid!, 'SIGCONT')
    }
  }, 30_000)

  it('exits 78 with a fix when the secret holds another password', async () => {
    const result = await runCli('monitor/status', [], { ...test.env, RC_PASSWORD_FILE: `${test.dir}/wrong.txt` }).finally(() => {})
    expect(result.exitCode).toBe(78) // missing secret file
    writeFileSync(`${test.dir}/wrong.txt`, 'not-the-password', { mode: 0o600 })
    const wrong = await runCli('monitor/status', [], { ...test.env, RC_PASSWORD_FILE: `${test.dir}/wrong.txt` })
    expect(wrong.exitCode).toBe(78)
    expect(wrong.stderr).toMatch(/rejects the password in the secret file\n {2}fix: /)
    expect(wrong.stdout).toBe('')
  })

  it('is not healthy when a node cannot persist (its data dir immutable), and names it', async () => {
    const stack = test.load()
    const node = stack.nodes[3]!
    const client = await connectNode(stack, node)
    extra.push(client)
    const saved = async () => parseInfo(await client.info('persistence'))
    execFileSync('chattr', ['+i', node.dataDir])
    try {
      await client.bgsave()
      await expect.poll(async () => (await saved()).rdb_last_bgsave_status, { timeout: 10_000 }).toBe('err')
      const result = await runCli('monitor/status', ['--json'], test.env)
      expect(result.exitCode).toBe(1)
      expect(JSON.parse(result.stdout).problems).toContainEqual(expect.stringMatching(/^redis-node-3: cannot persist: rdb_last_bgsave_status:err/))
    } finally {
      execFileSync('chattr', ['-i', node.dataDir])
    }
    await client.bgsave()
    await expect.poll(async () => (await saved()).rdb_last_bgsave_status, { timeout: 10_000 }).toBe('ok')
    expect((await runCli('monitor/status', ['-q'], test.env)).exitCode).toBe(0)
  })

  it('prints a table, and exits 1 naming a node that is down', async () => {
    const table = await runCli('monitor/status', [], test.env)
    expect(table.stdout).toMatch(/^NODE +PORT +ROLE +MASTER +SLOTS +KEYS +MEMORY +CLIENTS +LINK +STATE$/m)
    expect(table.stdout).toMatch(/^redis-node-3 .* replica +redis-node-0 .* up +ok$/m)
    expect(table.stdout).toMatch(/^cluster ok$/m)

    const [replica] = (await localRuntime.ps(test.load())).filter((n) => n.node === 'redis-node-5')
    process.kill(replica!.pid!, 'SIGKILL')
    const result = await runCli('monitor/status', [], test.env)
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toMatch(/^redis-node-5 +\d+ +down .*connection refused/m)
    expect(result.stdout).toMatch(/^cluster NOT healthy \(\d+ problems\):$/m)
    expect(result.stdout).toMatch(/^ {2}- redis-node-2: master of 10923-16383 has no replica online/m)
  })
})

describe('status on a cluster whose creation stopped before the replicas', () => {
  let test: TestStack
  beforeAll(async () => {
    test = await createTestStack()
  })
  afterAll(() => test?.cleanup())

  it('is not healthy (exit 1): three masters without a replica', async () => {
    const stack = test.load()
    await localRuntime.start(stack)
    const clients = await connectAll(stack)
    try {
      // what an `up` killed after its MEETs and before REPLICATE leaves behind
      await Promise.all(stack.nodes.filter((n) => n.slots).map((n) => clients[n.index]!.cluster('ADDSLOTSRANGE', n.slots!.start, n.slots!.end)))
      await Promise.all(stack.nodes.slice(1).map((n) => clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', n.port, n.busPort)))
      await expect.poll(async () => (await Promise.all(clients.map((c) => c.cluster('INFO')))).every((i) => /cluster_state:ok/.test(i as string)), { timeout: 20_000, interval: 100 }).toBe(true)
    } finally {
      clients.forEach((c) => c.disconnect())
    }
    const result = await runCli('monitor/status', ['--json'], test.env)
    expect(result.exitCode).toBe(1)
    const status = JSON.parse(result.stdout)
    expect(status.ok).toBe(false)
    expect(status.problems).toContain('redis-node-3: is a master without slots: it should replicate a master (an interrupted creation? run `pnpm run up`)')
    expect(status.problems).toContain('redis-node-0: master of 0-5460 has no replica online: losing it loses those slots')
  }, 60_000)
})
