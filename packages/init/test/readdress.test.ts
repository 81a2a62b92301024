import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAll, connectCluster, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { allocatePorts, createTestStack, type TestStack } from '@redis-cluster/test-utils'
import { formCluster } from '../src/index.ts'

/** Each node's own id, in node order. */
async function nodeIds(stack: Stack): Promise<string[]> {
  const clients = await connectAll(stack)
  try {
    return await Promise.all(clients.map(async (c) => (await c.cluster('MYID')) as string))
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
    test = await createTestStack()
    stack = test.load()
    await localRuntime.start(stack)
    await formCluster(stack, localRuntime)
    ids = await nodeIds(stack)
    const cluster = connectCluster(stack)
    await cluster.set('survives:move', 'yes')
    await cluster.quit()
  })
  afterAll(async () => {
    // the nodes run on the ports of the last move: stop them with that stack
    await localRuntime.stop(test.load(ports), { purge: false }).catch(() => undefined)
    await test?.cleanup()
  })

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
