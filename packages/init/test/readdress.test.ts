import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAll, connectCluster, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { allocatePorts, createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import { formCluster } from '../src/index.ts'

/** Each node's own id and role, in node order: a move must keep both (no failover). */
async function nodeIds(stack: Stack): Promise<string[]> {
  const clients = await connectAll(stack)
  try {
    return await Promise.all(clients.map(async (c) => `${await c.cluster('MYID')} ${((await c.call('ROLE')) as string[])[0]}`))
  } finally {
    clients.forEach((c) => c.disconnect())
  }
}

/** Env giving the listed node indexes fresh ports (bus port +10000, like the test stack). */
async function newPorts(indexes: readonly number[]): Promise<Record<string, string>> {
  const ports = await allocatePorts(indexes.length)
  return Object.fromEntries(indexes.flatMap((n, i) => [[`REDIS${n}_PORT`, `${ports[i]}`], [`REDIS${n}_BUS_PORT`, `${ports[i]! + 10000}`]]))
}

const address = (stack: Stack, i: number) => `127.0.0.1:${stack.nodes[i]!.port}@${stack.nodes[i]!.busPort}`

describe('formCluster() after the ports changed', () => {
  let test: TestStack
  let stack: Stack
  let ids: string[]
  let ports: Record<string, string> = {}
  beforeAll(async () => {
    // A node that sees a peer failing takes a new address for it from the gossip of
    // a node that reaches it: that heals a partial move by itself after node-timeout.
    // Long here, so that the re-introduction is what we see.
    test = await createTestStack({ env: { REDIS_CLUSTER_NODE_TIMEOUT: '60000' } })
    stack = await formTestStack(test)
    ids = await nodeIds(stack)
    const cluster = connectCluster(stack)
    await cluster.set('survives:move', 'yes')
    await cluster.quit()
  })
  afterAll(() => test?.cleanup()) // finds the nodes by their dirs, whatever their ports

  /** Stops the stack, gives the nodes `indexes` new ports, starts it again and forms the cluster. */
  async function move(indexes: readonly number[]) {
    const before = test.load(ports)
    await localRuntime.stop(before, { purge: false })
    ports = { ...ports, ...(await newPorts(indexes)) }
    const after = test.load(ports)
    await localRuntime.start(after)
    return { before, after, result: await formCluster(after, localRuntime) }
  }

  it('re-introduces every node at its new ports, keeping ids and data', async () => {
    const { before, after, result } = await move([0, 1, 2, 3, 4, 5])
    expect(result).toMatchObject({ action: 'existing', healthy: true })
    expect(result.steps).toEqual(stack.nodes.map((n, i) => `${n.name}: re-introduced at ${address(after, i)} (was ${address(before, i)})`))
    expect(await nodeIds(after)).toEqual(ids)
    const cluster = connectCluster(after)
    try {
      expect(await cluster.get('survives:move')).toBe('yes')
    } finally {
      await cluster.quit()
    }
  })

  it('re-introduces only the nodes that moved (a master and a replica)', async () => {
    const { before, after, result } = await move([1, 5])
    expect(result).toMatchObject({ action: 'existing', healthy: true })
    expect(result.steps).toEqual([1, 5].map((i) => `redis-node-${i}: re-introduced at ${address(after, i)} (was ${address(before, i)})`))
    expect(await nodeIds(after)).toEqual(ids)
  })

  it('does nothing when no node moved', async () => {
    const result = await formCluster(test.load(ports), localRuntime)
    expect(result).toMatchObject({ action: 'existing', steps: [] })
  })
})

describe('pnpm run up / down when .env changed the ports of running nodes', () => {
  let test: TestStack
  afterAll(() => test?.cleanup())

  it('up refuses naming them, down stops them where they run, then up moves the cluster', async () => {
    test = await createTestStack()
    expect((await runCli('init/up', [], test.env)).exitCode).toBe(0)
    expect((await runCli('init/up', [], test.env)).exitCode).toBe(0)
    const old = test.load()
    const env = { ...test.env, ...(await newPorts([0, 1, 2, 3, 4, 5])) }
    const moved = test.load(env)

    const refused = await runCli('init/up', [], env)
    expect(refused.exitCode).toBe(78)
    const runsOn = old.nodes.map((n, i) => `${n.name} runs on ${n.port}@${n.busPort}, not ${moved.nodes[i]!.port}@${moved.nodes[i]!.busPort}`)
    expect(refused.stderr).toBe(
      `up: the ports changed while the nodes ran: ${runsOn.join(', ')}\n` +
        '  fix: `pnpm run down` stops them where they run; then `pnpm run up` moves the cluster to the new ports\n',
    )

    const down = await runCli('compose/down', ['--json'], env)
    expect(down.exitCode, down.stderr).toBe(0)
    expect(JSON.parse(down.stdout).stopped).toHaveLength(6)

    const up = await runCli('init/up', [], env)
    expect(up.exitCode, up.stderr).toBe(0)
    const lines = up.stdout.trim().split('\n')
    expect(lines.slice(1, -1)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `redis-node-${i}: re-introduced at ${address(moved, i)} (was ${address(old, i)})`))
    expect(lines.at(-1)).toMatch(/^cluster already formed; healthy/)
  })
})
