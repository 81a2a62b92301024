import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addedNodesFile, answered, isAlive, connectCluster, connectNode, countSlots, readAddedNodes, readNodes, writeAddedNodes, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { allocatePorts, createTestStack, missingWrites, runCli, startWriter, type TestStack } from '@redis-cluster/test-utils'

/** Slots each node owns by its own view, by name. */
async function slotsByNode(stack: Stack): Promise<Record<string, number>> {
  return Object.fromEntries((await readNodes(stack)).filter(answered).map((a) => [a.node.name, countSlots(a.myself.slots)]))
}

describe('cluster:add-node and cluster:del-node', () => {
  let test: TestStack
  let spare: number[]
  beforeAll(async () => {
    test = await createTestStack()
    spare = await allocatePorts(3)
    const up = await runCli('init/up', ['-q'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
  }, 120_000)
  afterAll(() => test?.cleanup())

  it('refuses bad input with exit 2, changing nothing', async () => {
    const taken = test.load().nodes[2]!.port
    const cases: [string, string[], RegExp][] = [
      ['init/cluster-add-node', ['--port', 'seven'], /--port 'seven' is not a whole number from 1 to 65535/],
      ['init/cluster-add-node', ['--port', `${taken}`], new RegExp(`--port ${taken} / bus port \\d+: used by redis-node-2`)],
      ['init/cluster-add-node', ['--port', `${spare[0]}`, '--replica-of', 'redis-node-9'], /--replica-of: unknown node 'redis-node-9'/],
      ['init/cluster-add-node', ['--port', `${spare[0]}`, '--replica-of', 'redis-node-3'], /--replica-of: redis-node-3 is a replica/],
      ['init/cluster-add-node', [], /--port is required/],
      ['init/cluster-del-node', ['redis-node-9'], /unknown node 'redis-node-9'/],
      ['init/cluster-del-node', ['redis-node-0'], /redis-node-0 is one of the spec's nodes/],
    ]
    for (const [script, args, message] of cases) {
      const result = await runCli(script, args, test.env)
      expect(result.stderr).toMatch(message)
      expect(result.exitCode).toBe(2)
    }
    expect(existsSync(addedNodesFile(test.load().dataDir))).toBe(false)
  })

  it('refuses a node that owns slots or holds keys (exit 1), unchanged', async () => {
    const stack = test.load()
    writeAddedNodes(stack.dataDir, [{ name: 'redis-node-6', port: spare[2]!, busPort: spare[2]! + 10000, role: 'master' }])
    const withNode = test.load()
    const node = withNode.nodes.at(-1)!
    try {
      await localRuntime.start(withNode)
      const client = await connectNode(withNode, node)
      try {
        // a one-node cluster of its own, holding a key
        await client.cluster('ADDSLOTSRANGE', 0, 16383)
        await expect.poll(() => client.set('stray', '1').then(() => true, () => false), { timeout: 20_000 }).toBe(true)
      } finally {
        client.disconnect()
      }
      const result = await runCli('init/cluster-add-node', ['--node', 'redis-node-6'], test.env)
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toMatch(/redis-node-6 \(127\.0\.0\.1:\d+\) is not an empty node: it owns slots, holds 1 key\(s\)/)
      // up does not form an added node, and refuses the cluster it is not part of (add-node joins it)
      const up = await runCli('init/up', ['-q'], test.env)
      expect(up.exitCode).toBe(1)
      expect(up.stderr).toMatch(/added node\(s\) redis-node-6 are not in a formed cluster with the other nodes: up forms the spec's nodes only/)
      expect(Object.keys(await slotsByNode(stack))).toHaveLength(6) // the cluster does not know it
    } finally {
      await localRuntime.stop({ ...withNode, nodes: [node] }, { purge: true })
      writeAddedNodes(stack.dataDir, [])
    }
  }, 60_000)

  it('adds a fourth master, rebalances onto it under a live writer: every acknowledged write is readable', async () => {
    const add = await runCli('init/cluster-add-node', ['--json', '--port', `${spare[0]}`], test.env)
    expect(add.exitCode, add.stderr).toBe(0)
    expect(JSON.parse(add.stdout)).toMatchObject({ node: 'redis-node-6', role: 'master', started: true })
    expect(add.stderr).toMatch(/redis-node-6 owns no slots yet: `pnpm cluster:rebalance`/)
    const stack = test.load()
    expect(stack.nodes.map((n) => n.name)).toContain('redis-node-6')
    expect(stack.nodes.at(-1)).toMatchObject({ name: 'redis-node-6', port: spare[0], role: 'master', added: true })

    const cluster = connectCluster(stack)
    const writer = startWriter(cluster)
    let acked: ReadonlyMap<string, string>
    try {
      const rebalance = await runCli('init/cluster-rebalance', ['--json', '--pipeline', '50'], test.env)
      expect(rebalance.exitCode, rebalance.stderr).toBe(0)
      expect(JSON.parse(rebalance.stdout).moves.every((m: { to: string }) => m.to === 'redis-node-6')).toBe(true)
    } finally {
      acked = await writer.stop()
    }
    expect(acked.size).toBeGreaterThan(1000)
    const missing = await missingWrites(cluster, acked)
    cluster.disconnect()
    expect(missing).toEqual([])
    expect((await slotsByNode(stack))['redis-node-6']).toBe(4096)
  }, 120_000)

  it('del-node refuses while the node owns slots (exit 1); after they moved off it is forgotten, stopped and dropped', async () => {
    const refused = await runCli('init/cluster-del-node', ['redis-node-6'], test.env)
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toMatch(/redis-node-6 still owns 4096 slots .*\n {2}fix: move them off first: `pnpm cluster:rebalance --weights redis-node-6=0`/)
    const drain = await runCli('init/cluster-rebalance', ['--weights', 'redis-node-6=0'], test.env)
    expect(drain.exitCode, drain.stderr).toBe(0)
    const pid = (await localRuntime.ps(test.load())).find((n) => n.node === 'redis-node-6')!.pid!
    const del = await runCli('init/cluster-del-node', ['--json', 'redis-node-6'], test.env)
    expect(del.exitCode, del.stderr).toBe(0)
    expect(JSON.parse(del.stdout)).toMatchObject({ node: 'redis-node-6', forgottenBy: 6, stopped: true })
    const stack = test.load()
    expect(stack.nodes).toHaveLength(6)
    expect(readAddedNodes(stack.dataDir)).toEqual({ nodes: [] })
    expect(existsSync(`${stack.dataDir}/redis-node-6`)).toBe(false)
    expect(isAlive(pid)).toBe(false)
    for (const reading of (await readNodes(stack)).filter(answered)) expect(reading.entries).toHaveLength(6)
    expect((await runCli('monitor/status', ['-q'], test.env)).exitCode).toBe(0)
  }, 120_000)

  it('a replica of a named master: healthy, seen by status, restarted by down + up, then removed', async () => {
    const add = await runCli('init/cluster-add-node', ['--port', `${spare[1]}`, '--replica-of', 'redis-node-1'], test.env)
    expect(add.exitCode, add.stderr).toBe(0)
    expect(add.stdout).toMatch(/redis-node-6 \(127\.0\.0\.1:\d+\) joined the cluster as a replica of redis-node-1/)
    const status = await runCli('monitor/status', ['--json'], test.env)
    expect(status.exitCode, status.stdout).toBe(0)
    expect(JSON.parse(status.stdout).nodes.at(-1)).toMatchObject({ node: 'redis-node-6', role: 'replica', master: 'redis-node-1', link: 'up' })
    expect((await runCli('compose/down', ['-q'], test.env)).exitCode).toBe(0)
    const up = await runCli('init/up', ['--json'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
    expect(JSON.parse(up.stdout)).toMatchObject({ started: expect.arrayContaining(['redis-node-6']), nodes: 7 })
    const del = await runCli('init/cluster-del-node', ['redis-node-6'], test.env)
    expect(del.exitCode, del.stderr).toBe(0)
    expect((await runCli('monitor/status', ['-q'], test.env)).exitCode).toBe(0)
  }, 120_000)


  /** Adds an empty master on `port` and kills it (SIGKILL: it does not answer and cannot say goodbye); then waits until it is gone. */
  async function addThenKill(port: number, slotsOnto?: number): Promise<void> {
    const add = await runCli('init/cluster-add-node', ['--port', `${port}`], test.env)
    expect(add.exitCode, add.stderr).toBe(0)
    if (slotsOnto) {
      const reshard = await runCli('init/cluster-reshard', ['--from', 'redis-node-2', '--to', 'redis-node-6', '--slots', `${slotsOnto}`], test.env)
      expect(reshard.exitCode, reshard.stderr).toBe(0)
    }
    const pid = (await localRuntime.ps(test.load())).find((n) => n.node === 'redis-node-6')!.pid!
    process.kill(pid, 'SIGKILL')
    await expect.poll(() => isAlive(pid), { timeout: 20_000 }).toBe(false)
  }

  it('del-node of a dead added node that owns no slots: every other node forgets it, its record and data go', async () => {
    await addThenKill(spare[0]!)
    const del = await runCli('init/cluster-del-node', ['--json', 'redis-node-6'], test.env)
    expect(del.exitCode, del.stderr).toBe(0)
    expect(JSON.parse(del.stdout)).toMatchObject({ node: 'redis-node-6', forgottenBy: 6, stopped: true, answered: false })
    const stack = test.load()
    expect(stack.nodes).toHaveLength(6)
    expect(readAddedNodes(stack.dataDir)).toEqual({ nodes: [] })
    expect(existsSync(`${stack.dataDir}/redis-node-6`)).toBe(false)
    for (const reading of (await readNodes(stack)).filter(answered)) expect(reading.entries).toHaveLength(6)
    // the others drop their fail reports of it with it: healthy again
    await expect.poll(async () => (await runCli('monitor/status', ['-q'], test.env)).exitCode, { timeout: 30_000, interval: 1000 }).toBe(0)
  }, 120_000)

  it('del-node of a dead added node that owns slots by the others\' view: refused (exit 1), nothing changed', async () => {
    await addThenKill(spare[1]!, 10)
    const del = await runCli('init/cluster-del-node', ['redis-node-6'], test.env)
    expect(del.exitCode).toBe(1)
    expect(del.stderr).toMatch(/redis-node-6 does not answer and still owns slots \d+-\d+ by redis-node-\d's view; forgetting it would lose those slots/)
    const stack = test.load()
    expect(stack.nodes.at(-1)).toMatchObject({ name: 'redis-node-6', port: spare[1] })
    for (const reading of (await readNodes(stack)).filter(answered)) expect(reading.entries).toHaveLength(7)
  }, 120_000)
})
