import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAll, connectCluster, parseClusterNodes, CheckFailedError, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, type TestStack } from '@redis-cluster/test-utils'
import { formCluster } from '../src/index.ts'

/** node name → its CLUSTER NODES entry as node-0 sees it, with master names resolved. */
async function layout(stack: Stack) {
  const [client, ...rest] = await connectAll(stack)
  rest.forEach((c) => c.disconnect())
  const entries = parseClusterNodes((await client!.cluster('NODES')) as string)
  client!.disconnect()
  const byPort = new Map(entries.map((e) => [e.port, e]))
  const nameById = new Map(stack.nodes.map((n) => [byPort.get(n.port)!.id, n.name]))
  return Object.fromEntries(
    stack.nodes.map((n) => {
      const e = byPort.get(n.port)!
      return [n.name, { id: e.id, role: e.role, master: e.masterId && nameById.get(e.masterId), slots: e.slots }]
    }),
  )
}

describe('formCluster()', () => {
  let test: TestStack
  let stack: Stack
  beforeAll(async () => {
    test = await createTestStack()
    stack = test.load()
    await localRuntime.start(stack)
  })
  afterAll(() => test?.cleanup())

  it('creates the exact spec layout and waits for full health', async () => {
    const result = await formCluster(stack, localRuntime)
    expect(result.action).toBe('created')
    const nodes = await layout(stack)
    expect(nodes['redis-node-0']).toMatchObject({ role: 'master', slots: [{ start: 0, end: 5460 }] })
    expect(nodes['redis-node-1']).toMatchObject({ role: 'master', slots: [{ start: 5461, end: 10922 }] })
    expect(nodes['redis-node-2']).toMatchObject({ role: 'master', slots: [{ start: 10923, end: 16383 }] })
    expect(nodes['redis-node-3']).toMatchObject({ role: 'replica', master: 'redis-node-0', slots: [] })
    expect(nodes['redis-node-4']).toMatchObject({ role: 'replica', master: 'redis-node-1', slots: [] })
    expect(nodes['redis-node-5']).toMatchObject({ role: 'replica', master: 'redis-node-2', slots: [] })
  })

  it('is a no-op on a formed cluster', async () => {
    const before = await layout(stack)
    const result = await formCluster(stack, localRuntime)
    expect(result).toMatchObject({ action: 'existing', steps: [] })
    expect(await layout(stack)).toEqual(before)
  })

  it('brings back the same cluster and data after a stop', async () => {
    const before = await layout(stack)
    const cluster = connectCluster(stack)
    await cluster.set('survives:stop', 'yes')
    await cluster.quit()
    await localRuntime.stop(stack, { purge: false })
    await localRuntime.start(stack)
    expect((await formCluster(stack, localRuntime)).action).toBe('existing')
    expect(await layout(stack)).toEqual(before)
    const again = connectCluster(stack)
    expect(await again.get('survives:stop')).toBe('yes')
    await again.quit()
  })
})

describe('formCluster() on half-formed clusters', () => {
  let test: TestStack
  let stack: Stack
  beforeAll(async () => {
    test = await createTestStack()
    stack = test.load()
  })
  afterAll(() => test?.cleanup())

  it('finishes an interrupted creation that matches the layout', async () => {
    await localRuntime.start(stack)
    const clients = await connectAll(stack)
    // what an `up` killed after its first steps leaves behind: some ranges assigned, some nodes met
    await clients[0]!.cluster('ADDSLOTSRANGE', 0, 5460)
    await clients[1]!.cluster('ADDSLOTSRANGE', 5461, 10922)
    await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', stack.nodes[1]!.port, stack.nodes[1]!.busPort)
    clients.forEach((c) => c.disconnect())
    const result = await formCluster(stack, localRuntime)
    expect(result.action).toBe('completed')
    const nodes = await layout(stack)
    expect(nodes['redis-node-2']!.slots).toEqual([{ start: 10923, end: 16383 }])
    expect(nodes['redis-node-5']).toMatchObject({ role: 'replica', master: 'redis-node-2' })
  })

  it('refuses a partial cluster that contradicts the layout, changing nothing', async () => {
    await localRuntime.stop(stack, { purge: true })
    await localRuntime.start(stack)
    const clients = await connectAll(stack)
    await clients[1]!.cluster('ADDSLOTSRANGE', 0, 10) // node-1 holds node-0's slots
    const error = await formCluster(stack, localRuntime).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CheckFailedError)
    expect((error as Error).message).toMatch(/redis-node-1 owns slots 0-10, not its pair's range 5461-10922/)
    expect(await clients[0]!.cluster('INFO')).toMatch(/cluster_slots_assigned:0/)
    expect(await clients[1]!.cluster('INFO')).toMatch(/cluster_slots_assigned:11/)
    clients.forEach((c) => c.disconnect())
  })
})
