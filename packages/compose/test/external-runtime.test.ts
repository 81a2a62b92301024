import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectNode } from '@redis-cluster/core'
import { createExternalCluster, runCli, startExternalNodes, type ExternalNodes } from '@redis-cluster/test-utils'

// Eight nodes, four masters, one per simulated host (127.0.0.2-9), all on one port: no six-node assumption.
describe('external runtime: a cluster this toolkit did not start', () => {
  let cluster: ExternalNodes
  let stray: ExternalNodes
  beforeAll(async () => {
    cluster = await createExternalCluster({ masters: 4, replicas: 1 })
    stray = await startExternalNodes({ count: 1, firstHost: 20, password: cluster.password })
  }, 90_000)
  afterAll(async () => {
    await cluster?.cleanup()
    await stray?.cleanup()
  })

  it('finds every node from the seeds, named host:port, masters first by slot, each replica after its master', async () => {
    const stack = await cluster.load()
    expect(stack.nodes).toHaveLength(8)
    expect(new Set(stack.nodes.map((n) => n.name))).toEqual(new Set(cluster.addresses.map((a) => `${a.host}:${a.port}`)))
    expect(stack.nodes.map((n) => n.role)).toEqual(['master', 'master', 'master', 'master', 'replica', 'replica', 'replica', 'replica'])
    expect(stack.nodes.slice(4).map((n) => n.masterIndex)).toEqual([0, 1, 2, 3])
    for (const node of stack.nodes) expect(node).toMatchObject({ host: node.name.split(':')[0], port: cluster.port, slots: undefined, dataDir: '', remote: true })
  })

  it('`up` starts nothing and waits for health; `down` and `logs` refuse (78); ps, cli and status reach all eight nodes', async () => {
    const up = await runCli('init/up', [], cluster.env)
    expect(up.stderr).toBe('')
    expect(up.exitCode).toBe(0)
    expect(up.stdout).toMatch(/^external: starts nothing \(the 8 nodes run elsewhere\)/)
    expect(up.stdout).toMatch(/healthy: 8 nodes, 16384 slots ok/)

    const down = await runCli('compose/down', [], cluster.env)
    expect(down.exitCode).toBe(78)
    expect(down.stderr).toMatch(/^down: the external runtime does not stop nodes: this toolkit did not start them\n {2}fix: stop them on their hosts/)

    const logs = await runCli('compose/logs', [], cluster.env)
    expect(logs.exitCode).toBe(78)
    expect(logs.stderr).toMatch(/^logs: the external runtime cannot read the nodes' logs: they are on the nodes' hosts\n/)

    const ps = await runCli('compose/ps', ['--json'], cluster.env)
    expect(ps.exitCode, ps.stderr).toBe(0)
    expect(JSON.parse(ps.stdout)).toMatchObject({ runtime: 'external' })
    expect(JSON.parse(ps.stdout).nodes.map((n: { state: string }) => n.state)).toEqual(Array(8).fill('running'))

    const cli = await runCli('compose/cli', ['--', '-h', cluster.addresses[1]!.host, '-p', `${cluster.port}`, 'cluster', 'info'], cluster.env)
    expect(cli.exitCode, cli.stderr).toBe(0)
    expect(cli.stdout).toMatch(/^cluster_state:ok/m)

    const status = await runCli('monitor/status', ['--json'], cluster.env)
    expect(status.exitCode, status.stderr).toBe(0)
    const nodes = JSON.parse(status.stdout).nodes as { node: string; up: boolean }[]
    expect(nodes.map((n) => n.node)).toEqual((await cluster.load()).nodes.map((n) => n.name))
    expect(nodes.every((n) => n.up)).toBe(true)
  }, 60_000)

  it('names a seed of another cluster, seeds that do not answer, and a bad seed list', async () => {
    const other = `${stray.addresses[0]!.host}:${stray.port}`
    const mixed = await runCli('monitor/status', [], { ...cluster.env, RC_SEEDS: `${cluster.env.RC_SEEDS},${other}` })
    expect(mixed.exitCode).toBe(78)
    expect(mixed.stderr).toMatch(new RegExp(`^status: seeds 127\\.0\\.0\\.2:\\d+ and ${other.replace(/\./g, '\\.')} belong to different clusters`))

    const nobody = await runCli('monitor/status', [], { ...cluster.env, RC_SEEDS: `127.0.0.30:${cluster.port},127.0.0.31:${cluster.port}` })
    expect(nobody.exitCode).toBe(75)
    expect(nobody.stderr).toMatch(/^status: no seed answers: seed 127\.0\.0\.30:\d+ refuses connections \(connection refused: down, or not listening on the address it announces\); seed 127\.0\.0\.31:\d+ refuses/)

    const malformed = await runCli('monitor/status', [], { ...cluster.env, RC_SEEDS: '127.0.0.2' })
    expect(malformed.exitCode).toBe(78)
    expect(malformed.stderr).toMatch(/RC_SEEDS='127.0.0.2' is not a seed list/)
    const none = await runCli('monitor/status', [], { ...cluster.env, RC_SEEDS: '' })
    expect(none.exitCode).toBe(78)
    expect(none.stderr).toMatch(/RC_RUNTIME=external needs RC_SEEDS=host:port/)
  }, 60_000)

  it('a node that refuses our password while the others accept it is named (78: the secret is wrong for it)', async () => {
    const last = cluster.addresses.at(-1)!
    const client = await connectNode(cluster, { name: 'last', ...last })
    try {
      await client.config('SET', 'requirepass', 'another-password')
      const status = await runCli('monitor/status', [], cluster.env)
      expect(status.exitCode).toBe(78)
      expect(status.stderr).toMatch(new RegExp(`^status: ${last.host.replace(/\./g, '\\.')}:${last.port} rejects the password in the secret file\n`))
    } finally {
      await client.config('SET', 'requirepass', cluster.password)
      client.disconnect()
    }
  }, 60_000)

  it('a node announced under an address this host cannot reach is a row saying so (refused, not "not running")', async () => {
    const last = cluster.addresses.at(-1)!
    const client = await connectNode(cluster, { name: 'last', ...last })
    const announced = (stack: Awaited<ReturnType<ExternalNodes['load']>>) => stack.nodes.map((n) => n.host)
    try {
      await client.config('SET', 'cluster-announce-ip', '127.0.0.99')
      await expect.poll(async () => announced(await cluster.load()), { timeout: 20_000 }).toContain('127.0.0.99')
      const status = await runCli('monitor/status', [], cluster.env)
      expect(status.exitCode).toBe(1)
      expect(status.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.99:${last.port} .*refuses connections \\(connection refused: down, or not listening on the address it announces\\)`, 'm'))
    } finally {
      await client.config('SET', 'cluster-announce-ip', last.host)
      client.disconnect()
    }
    await expect.poll(async () => announced(await cluster.load()), { timeout: 20_000 }).toContain(last.host)
  }, 60_000)
})
