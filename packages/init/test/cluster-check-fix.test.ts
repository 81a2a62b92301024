import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster, connectNode, migrateAuth, parseClusterNodes, type NodeClient, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'

const KEYS = 3000
const MIGRATING = 200 // keys in one slot, for the interrupted reshard

describe('cluster:check and cluster:fix', () => {
  let test: TestStack
  let stack: Stack
  const clients = new Map<string, NodeClient>()
  const node = (name: string) => stack.nodes.find((n) => n.name === name)!
  const client = async (name: string) => clients.get(name) ?? clients.set(name, await connectNode(stack, node(name))).get(name)!
  const myself = async (name: string) => parseClusterNodes((await (await client(name)).cluster('NODES')) as string).find((e) => e.myself)!
  const check = async () => {
    const r = await runCli('init/cluster-check', ['--json'], test.env)
    return { exitCode: r.exitCode, result: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr }
  }
  const fix = (...args: string[]) => runCli('init/cluster-fix', args, test.env)
  /** Every key written in beforeAll, read back through the cluster. */
  const missingKeys = async () => {
    const cluster = connectCluster(stack)
    try {
      const names = [...Array.from({ length: KEYS }, (_, i) => `key:${i}`), ...Array.from({ length: MIGRATING }, (_, i) => `{moving}:${i}`)]
      const values = await Promise.all(names.map((k) => cluster.get(k)))
      return names.filter((k, i) => values[i] !== `value of ${k}`)
    } finally {
      cluster.disconnect()
    }
  }

  beforeAll(async () => {
    test = await createTestStack()
    stack = await formTestStack(test)
    const cluster = connectCluster(stack)
    const names = [...Array.from({ length: KEYS }, (_, i) => `key:${i}`), ...Array.from({ length: MIGRATING }, (_, i) => `{moving}:${i}`)]
    await Promise.all(names.map((k) => cluster.set(k, `value of ${k}`)))
    cluster.disconnect()
  }, 120_000)
  afterAll(async () => {
    for (const c of clients.values()) c.disconnect()
    for (const n of await localRuntime.ps(stack).catch(() => [])) if (n.pid) process.kill(n.pid, 'SIGCONT')
    await test?.cleanup()
  })

  it('works: a healthy cluster checks ok (exit 0) and fix has nothing to do', async () => {
    const { exitCode, result } = await check()
    expect(exitCode).toBe(0)
    expect(result).toMatchObject({ healthy: true, answered: 6, nodes: 6, problems: [], drift: [] })
    const fixed = await fix('--json')
    expect(fixed.exitCode).toBe(0)
    expect(JSON.parse(fixed.stdout)).toMatchObject({ plan: [] })
  }, 60_000)

  it('an interrupted reshard (slot MIGRATING/IMPORTING, keys on both sides): check exits 1, fix finishes it, no key lost', async () => {
    const slot = (await (await client('redis-node-0')).cluster('KEYSLOT', '{moving}:0')) as number
    const owner = stack.nodes.slice(0, 3).find((n) => n.slots!.start <= slot && slot <= n.slots!.end)!
    const target = stack.nodes.slice(0, 3).find((n) => n !== owner)!
    const [source, dest] = [await client(owner.name), await client(target.name)]
    const [sourceId, destId] = [(await myself(owner.name)).id, (await myself(target.name)).id]
    await dest.cluster('SETSLOT', slot, 'IMPORTING', sourceId)
    await source.cluster('SETSLOT', slot, 'MIGRATING', destId)
    const keys = (await source.cluster('GETKEYSINSLOT', slot, 80)) as string[]
    // 20 keys on both sides (COPY: what a source that died before its AOF kept the delete comes back with), 60 moved
    await source.call('MIGRATE', target.host, target.port, '', 0, 5000, 'COPY', ...migrateAuth(stack), 'KEYS', ...keys.slice(0, 20))
    await source.call('MIGRATE', target.host, target.port, '', 0, 5000, ...migrateAuth(stack), 'KEYS', ...keys.slice(20))
    expect(await dest.cluster('COUNTKEYSINSLOT', slot)).toBe(80)

    const before = await check()
    expect(before.exitCode).toBe(1)
    expect(before.result.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'open-slot', node: owner.name, fix: 'pnpm cluster:fix', text: `${owner.name}: slot ${slot} is migrating to ${target.name} (an interrupted reshard?)` }),
        expect.objectContaining({ kind: 'open-slot', node: target.name }),
      ]),
    )
    const fixed = await fix()
    expect(fixed.stderr).toMatch(/plan: redis-cli --cluster fix: open \(migrating\/importing\) slots/)
    expect(fixed.stderr).toMatch(new RegExp(`slot ${slot}: dropped 20 second copy\\(ies\\) of keys`))
    expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0)
    expect((await check()).exitCode).toBe(0)
    expect(await missingKeys()).toEqual([])
  }, 120_000)

  it('a key left on both sides of an open slot with different values: fix refuses (exit 1) naming it and overwrites nothing', async () => {
    const slot = (await (await client('redis-node-0')).cluster('KEYSLOT', '{moving}:0')) as number
    const owner = stack.nodes.slice(0, 3).find((n) => (n.slots!.start <= slot && slot <= n.slots!.end) || false)!
    const holder = (await Promise.all(stack.nodes.slice(0, 3).map(async (n) => ({ n, count: Number(await (await client(n.name)).cluster('COUNTKEYSINSLOT', slot)) })))).find((h) => h.count > 0)!.n
    const target = stack.nodes.slice(0, 3).find((n) => n !== holder && n !== owner) ?? stack.nodes.slice(0, 3).find((n) => n !== holder)!
    const [source, dest] = [await client(holder.name), await client(target.name)]
    await dest.cluster('SETSLOT', slot, 'IMPORTING', (await myself(holder.name)).id)
    await source.cluster('SETSLOT', slot, 'MIGRATING', (await myself(target.name)).id)
    await source.call('MIGRATE', target.host, target.port, '{moving}:7', 0, 5000, 'COPY', ...migrateAuth(stack))
    await dest.pipeline().call('ASKING').set('{moving}:7', 'a different value').exec()

    const refused = await fix()
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toMatch(new RegExp(`^cluster:fix: slot ${slot}: key '\\{moving\\}:7' has different values on redis-node-\\d and redis-node-\\d; nothing was overwritten\n {2}fix: `, 'm'))
    expect(await source.get('{moving}:7')).toBe('value of {moving}:7')
    expect((await dest.pipeline().call('ASKING').get('{moving}:7').exec())![1]![1]).toBe('a different value')

    await dest.pipeline().call('ASKING').del('{moving}:7').exec() // the operator keeps the right copy
    const fixed = await fix()
    expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0)
    expect(await missingKeys()).toEqual([])
  }, 120_000)

  it('CLUSTER DELSLOTS on a master: check reports uncovered slots, fix gives them back to it with their keys', async () => {
    const master = await myself('redis-node-1')
    const start = master.slots[0]!.start
    await (await client('redis-node-1')).call('CLUSTER', 'DELSLOTSRANGE', start, start + 99)
    const before = await check()
    expect(before.exitCode).toBe(1)
    expect(before.result.problems).toContainEqual(expect.objectContaining({ kind: 'uncovered', text: `cluster: 100 slot(s) claimed by no node: ${start}-${start + 99}` }))
    const dry = await fix('--dry-run')
    expect(dry.exitCode).toBe(1)
    expect(dry.stdout).toMatch(new RegExp(`^would: redis-node-1: claim slot\\(s\\) ${start}-${start + 99} \\(`, 'm'))
    expect((await check()).exitCode).toBe(1)
    const fixed = await fix('--json')
    expect(fixed.exitCode, fixed.stderr).toBe(0)
    expect(JSON.parse(fixed.stdout).plan).toEqual([expect.stringMatching(new RegExp(`^redis-node-1: claim slot\\(s\\) ${start}-${start + 99} \\(`))])
    expect((await myself('redis-node-1')).slots[0]!.start).toBe(start)
    expect(await missingKeys()).toEqual([])
  }, 120_000)

  it('a slot claimed by two masters (one forgot the other): fix hands it to the newer claim, keys intact', async () => {
    const [a, b] = [await myself('redis-node-0'), await myself('redis-node-1')]
    // The older claim (lower config epoch) loses: it claims a few of the newer one's slots, having forgotten it, so nobody can tell it.
    const [older, newer] = a.configEpoch < b.configEpoch ? ['redis-node-0', 'redis-node-1'] : ['redis-node-1', 'redis-node-0']
    const start = (await myself(newer)).slots[0]!.start
    await (await client(older)).cluster('FORGET', (await myself(newer)).id)
    await (await client(older)).call('CLUSTER', 'ADDSLOTSRANGE', start, start + 5)
    // A write the older claim took meanwhile (it serves without the slots it forgot): fix must move it, or redis deletes it when gossip takes the slot.
    await (await client(older)).config('SET', 'cluster-require-full-coverage', 'no')
    const slotOf = async (key: string) => (await (await client(older)).cluster('KEYSLOT', key)) as number
    let stray = ''
    for (let i = 0; !stray; i++) if ([0, 1, 2, 3, 4, 5].includes((await slotOf(`stray:${i}`)) - start)) stray = `stray:${i}`
    await expect.poll(async () => (await client(older)).set(stray, 'written on the older claim').catch((e: Error) => e.message), { timeout: 10_000 }).toBe('OK')
    const before = await check()
    expect(before.exitCode).toBe(1)
    expect(before.result.problems).toContainEqual(expect.objectContaining({ kind: 'claimed-twice', text: expect.stringContaining(`${start}-${start + 5} claimed by both`) }))
    const fixed = await fix()
    expect(fixed.stderr).toMatch(new RegExp(`plan: ${older}: give slot\\(s\\) ${start}-${start + 5} to ${newer}`))
    expect(fixed.stderr).toMatch(new RegExp(`plan: ${older}: meet ${newer} again`))
    expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0)
    expect((await myself(newer)).slots[0]!.start).toBe(start)
    expect(await missingKeys()).toEqual([])
    const cluster = connectCluster(stack)
    expect(await cluster.get(stray).finally(() => cluster.disconnect())).toBe('written on the older claim')
    await (await client(older)).config('SET', 'cluster-require-full-coverage', 'yes')
  }, 120_000)

  it('a replica whose master link is down: fix re-attaches it', async () => {
    const replica = await client('redis-node-5')
    await replica.config('SET', 'masterauth', 'not-the-password')
    await replica.call('CLIENT', 'KILL', 'TYPE', 'master')
    await expect.poll(async () => (await check()).result?.problems.map((p: { kind: string }) => p.kind), { timeout: 30_000, interval: 200 }).toContain('replica-link')
    const fixed = await fix()
    expect(fixed.stderr).toMatch(/redis-node-5: re-attach to its master/)
    expect(fixed.exitCode, fixed.stdout).toBe(0)
    expect(await missingKeys()).toEqual([])
  }, 120_000)

  it('a master owning slots is down: fix refuses without --force (exit 75); with --force its replica takes over, keys intact', async () => {
    // No automatic failover during the test: the state stays "master down" until fix acts.
    const setTimeouts = (ms: number) => Promise.all(stack.nodes.map(async (n) => (await client(n.name)).config('SET', 'cluster-node-timeout', `${ms}`)))
    await setTimeouts(600_000)
    const pid = (await localRuntime.ps(stack)).find((n) => n.node === 'redis-node-2')!.pid!
    process.kill(pid, 'SIGSTOP')
    try {
      const refused = await fix()
      expect(refused.exitCode).toBe(75)
      expect(refused.stderr).toMatch(/redis-node-2 owns slots and does not answer/)
      expect(refused.stderr).toMatch(/fix: .*--force/)
      const { exitCode, result } = await check()
      expect(exitCode).toBe(1)
      expect(result.problems[0]).toMatchObject({ kind: 'unreachable', node: 'redis-node-2' })

      const forced = await fix('--force', '--json')
      expect(forced.exitCode, forced.stderr).toBe(1) // redis-node-2 still does not answer
      expect(JSON.parse(forced.stdout).plan).toEqual(['redis-node-5: take over from redis-node-2, which does not answer (CLUSTER FAILOVER FORCE)'])
      expect((await myself('redis-node-5')).role).toBe('master')
    } finally {
      process.kill(pid, 'SIGCONT')
      await setTimeouts(2000)
    }
    await expect.poll(async () => (await check()).exitCode, { timeout: 60_000, interval: 500 }).toBe(0)
    expect(await missingKeys()).toEqual([])
  }, 180_000)

  it('too few nodes answer: check exits 75; bad flags exit 2', async () => {
    const down = { ...test.env, ...Object.fromEntries([0, 1, 2, 3].map((i) => [`REDIS${i}_PORT`, `${test.ports[5]! + 100 + i}`])) }
    const r = await runCli('init/cluster-check', [], down)
    expect(r.exitCode).toBe(75)
    expect(r.stderr).toMatch(/not enough nodes reachable to judge the cluster: 2 of 6 answer/)
    expect((await runCli('init/cluster-fix', ['--bogus'], test.env)).exitCode).toBe(2)
  }, 60_000)
})
