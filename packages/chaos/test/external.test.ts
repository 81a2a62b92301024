import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answered, assessHealth, connectNode, readNodes } from '@redis-cluster/core'
import { createExternalCluster, runCli, type ExternalNodes } from '@redis-cluster/test-utils'

const DESTRUCTIVE = '--i-know-this-is-destructive'

/**
 * Chaos on a cluster this toolkit did not start (eight plain redis-server
 * nodes, four masters): refused without the flag; with it, only what Redis
 * connections can do: a planned failover, and pauses by DEBUG SLEEP (these
 * test nodes allow DEBUG to local connections, and the toolkit's come from
 * 127.0.0.1). Each drill must leave the cluster as it found it.
 */
describe('chaos on the external runtime (4 masters, 4 replicas)', () => {
  let cluster: ExternalNodes
  beforeAll(async () => {
    // a 2 s node timeout keeps pause-master-long (a pause of 1.5 x 2 + 2 + 2 = 7 s) short
    cluster = await createExternalCluster({ masters: 4, replicas: 1, nodeTimeoutMs: 2000 })
  }, 90_000)
  afterAll(() => cluster?.cleanup())

  /** Each node's role and master now, by name: what a drill must leave as it found it. */
  const roles = async () => {
    const stack = await cluster.load()
    const readings = (await readNodes(stack)).filter(answered)
    expect(readings).toHaveLength(8)
    expect(assessHealth(stack, readings).problems).toEqual([])
    return Object.fromEntries(readings.map((r) => [r.node.name, readings.find((m) => m.id === r.myself.masterId)?.node.name ?? r.myself.role]))
  }
  const drill = async (args: readonly string[]) => {
    const result = await runCli('chaos/chaos', [...args, DESTRUCTIVE, '--json'], cluster.env)
    expect(result.exitCode, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout).drills[0]
    expect(report.expectations.filter((e: { ok: boolean }) => !e.ok)).toEqual([])
    return report
  }

  it('refuses (78, before anything runs): without the flag, and with it the scenarios that must kill or restart nodes', async () => {
    const before = await roles()
    const plain = await runCli('chaos/chaos', ['manual-failover'], cluster.env)
    expect(plain.exitCode).toBe(78)
    expect(plain.stderr).toBe("chaos: the external runtime's nodes were not started by this toolkit, and a drill fails over and pauses them under a live writer\n  fix: to drill this cluster anyway (not in production), pass --i-know-this-is-destructive\n")

    for (const [scenario, fault] of [['kill-master', 'kill'], ['kill-replica', 'kill'], ['kill-shard', 'kill'], ['restart-all', 'restart']]) {
      const refused = await runCli('chaos/chaos', [scenario!, DESTRUCTIVE], cluster.env)
      expect(refused.exitCode).toBe(78)
      expect(refused.stderr).toBe(
        `chaos: ${scenario} needs to ${fault} nodes, which the external runtime cannot: it reaches the nodes only by Redis connections, never their processes or hosts\n` +
          '  fix: scenarios that can run here: pause-master-long, pause-master-short, manual-failover; the others need a local or compose stack\n',
      )
    }
    const all = await runCli('chaos/chaos', ['--all', DESTRUCTIVE], cluster.env)
    expect(all.exitCode).toBe(78)
    expect(all.stderr).toMatch(/^chaos: kill-master, kill-replica, kill-shard, restart-all need to kill or restart nodes, which the external runtime cannot/)
    expect(await roles()).toEqual(before)
  }, 60_000)

  it('manual-failover: planned, nothing lost, and the shard failed back over to its master', async () => {
    const before = await roles()
    const master = (await cluster.load()).nodes[0]!
    const report = await drill(['manual-failover'])
    expect(report).toMatchObject({ runtime: 'external', faulted: [master.name], slots: '0-4095', restored: [master.name], writes: { lost: 0 } })
    expect(report.failoverAfterMs).toBeGreaterThan(0)
    expect(report.layout).toContainEqual({ node: master.name, role: 'replica', master: expect.stringMatching(/^127\.0\.0\.\d+:\d+$/), slots: '' })
    expect(await roles()).toEqual(before)
  }, 60_000)

  it('pause-master-short (DEBUG SLEEP under half the node timeout): no failover, nothing lost', async () => {
    const before = await roles()
    const master = (await cluster.load()).nodes[0]!
    const report = await drill(['pause-master-short'])
    expect(report).toMatchObject({ failoverAfterMs: null, restored: [], writes: { lost: 0 } })
    // the pause really blocked the master, for a quarter of the node timeout: its slow log holds the DEBUG SLEEP and how long it ran (µs)
    const client = await connectNode(cluster, master)
    try {
      const slowlog = (await client.call('SLOWLOG', 'GET', '128')) as [number, number, number, string[]][]
      expect(slowlog.filter(([, , , args]) => args.join(' ') === 'DEBUG SLEEP 0.500').map(([, , micros]) => micros >= 500_000)).toEqual([true])
    } finally {
      client.disconnect()
    }
    expect(await roles()).toEqual(before)
  }, 60_000)

  it('pause-master-long (DEBUG SLEEP past the node timeout): failover, the woken master rejoins as a replica, then takes its shard back', async () => {
    const before = await roles()
    const stack = await cluster.load()
    const master = stack.nodes[0]!
    const replica = stack.nodes.find((n) => n.masterIndex === 0)!
    const report = await drill(['pause-master-long'])
    expect(report.failoverAfterMs).toBeGreaterThan(0)
    expect(report.layout).toContainEqual({ node: master.name, role: 'replica', master: replica.name, slots: '' })
    expect(report.restored).toEqual([master.name])
    expect(await roles()).toEqual(before)
  }, 90_000)

  it('a node that refuses DEBUG is named (78); the drill pauses nothing and leaves the cluster as it was', async () => {
    const before = await roles()
    const master = (await cluster.load()).nodes[0]!
    const client = await connectNode(cluster, master)
    try {
      await client.call('ACL', 'SETUSER', 'default', '-debug')
      const result = await runCli('chaos/chaos', ['pause-master-short', DESTRUCTIVE], cluster.env)
      expect(result.exitCode).toBe(78)
      expect(result.stderr).toMatch(new RegExp(`^chaos: ${master.name.replace(/\./g, '\\.')} refuses DEBUG SLEEP \\(its ACL user may not run DEBUG\\): the external runtime pauses a node only with DEBUG SLEEP\\n {2}fix: allow it on that node \\(\`enable-debug-command yes\``, 'm'))
    } finally {
      await client.call('ACL', 'SETUSER', 'default', '+debug')
      client.disconnect()
    }
    expect(await roles()).toEqual(before)
  }, 60_000)
})
