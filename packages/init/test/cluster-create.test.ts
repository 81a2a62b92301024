import { afterEach, describe, expect, it } from 'vitest'
import { connectNode, parseClusterNodes } from '@redis-cluster/core'
import { runCli, startExternalNodes, type ExternalNodes } from '@redis-cluster/test-utils'

const list = (nodes: ExternalNodes) => nodes.addresses.map((a) => `${a.host}:${a.port}`).join(',')
const escape = (text: string) => text.replace(/[.[\]]/g, '\\$&')

// Simulated hosts: 127.0.0.x each run two nodes on two ports, as the per-host stack would.
describe('cluster:create --seeds', () => {
  let nodes: ExternalNodes | undefined
  afterEach(async () => {
    await nodes?.cleanup()
    nodes = undefined
  })

  it('a bus port nobody reaches: redis-cli never sees the join; the deadline ends it (75) naming the bus ports', async () => {
    // every node announces bus port 1, where nothing listens: the MEETs redis-cli sends never complete
    nodes = await startExternalNodes({ count: 3, extraConf: ['cluster-announce-bus-port 1'] })
    const stuck = await runCli('init/cluster-create', ['--seeds', list(nodes), '--replicas', '0'], { ...nodes.env, RC_TIMEOUT_MS: '5000' })
    expect(stuck.exitCode).toBe(75)
    expect(stuck.stderr).toMatch(/^cluster:create: redis-cli --cluster create: redis-cli did not finish within [0-9.]+s.*\n {2}fix: the cluster bus ports must be reachable between the hosts/m)
  }, 60_000)

  it('forms eight nodes on four hosts: four masters, no replica on its master host, healthy; prints the .env lines; a second run refuses (1)', async () => {
    nodes = await startExternalNodes({ count: 8, perHost: 2 })
    // nodes.env says RC_RUNTIME=external with two of these (unjoined) nodes as RC_SEEDS: create must not read them
    const created = await runCli('init/cluster-create', ['--seeds', list(nodes)], nodes.env)
    expect(created.exitCode, created.stderr).toBe(0)
    expect(created.stdout).toMatch(/^cluster formed on 4 hosts: 4 masters, 4 replicas, healthy; no replica on its master's host\n/)
    expect(created.stdout).toMatch(/^RC_RUNTIME=external$/m)
    const seeds = /^RC_SEEDS=(.+)$/m.exec(created.stdout)![1]!
    expect(seeds).toBe(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map((host) => `${host}:${nodes!.port}`).join(',')) // the first node of each host

    const stack = await nodes.load({ RC_SEEDS: seeds })
    const masters = stack.nodes.filter((n) => n.role === 'master')
    expect(masters).toHaveLength(4)
    expect(new Set(masters.map((m) => m.host)).size).toBe(4)
    for (const replica of stack.nodes.filter((n) => n.role === 'replica')) expect(replica.host, replica.name).not.toBe(masters[replica.masterIndex!]!.host)
    const status = await runCli('monitor/status', [], { ...nodes.env, RC_SEEDS: seeds })
    expect(status.exitCode, status.stdout + status.stderr).toBe(0)

    const again = await runCli('init/cluster-create', ['--seeds', list(nodes)], nodes.env)
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toMatch(/^cluster:create: cannot form a cluster: 127\.0\.0\.2:\d+ knows 7 other node\(s\): it belongs to a cluster, owns slots; .*; and 5 more; nothing was changed\n {2}fix: /)
  }, 120_000)

  it('refuses, changing nothing: a malformed list (2), a placement that puts a replica on its master host (2), a node that does not answer (75), refuses the password (78) or holds keys (1)', async () => {
    nodes = await startExternalNodes({ count: 6, perHost: 2 })
    const seeds = list(nodes)
    const env = nodes.env
    const malformed = await runCli('init/cluster-create', ['--seeds', `${seeds},127.0.0.2`], env)
    expect([malformed.exitCode, malformed.stderr]).toEqual([2, expect.stringMatching(/^cluster:create: --seeds: '127\.0\.0\.2' is not ip:port/)])

    // 127.0.0.2 holds four of the six nodes: some replica would share its master's host (refused before dialling any)
    const p = nodes.port
    const lopsided = await runCli('init/cluster-create', ['--seeds', [p, p + 1, p + 2, p + 3].map((q) => `127.0.0.2:${q}`).concat([`127.0.0.4:${p}`, `127.0.0.4:${p + 1}`]).join(',')], env)
    expect(lopsided.exitCode).toBe(2)
    expect(lopsided.stderr).toMatch(/^cluster:create: cannot place 3 masters with 1 replica\(s\) each so that no replica is on its master's host \(nodes per host: 127\.0\.0\.2: 4, 127\.0\.0\.4: 2\)/)

    const down = `127.0.0.40:${nodes.port}`
    const silent = await runCli('init/cluster-create', ['--seeds', `${seeds.split(',').slice(1).join(',')},${down}`], env)
    expect(silent.exitCode).toBe(75)
    expect(silent.stderr).toMatch(new RegExp(`^cluster:create: ${escape(down)} is not running \\(connection refused\\)`))

    const [first, second] = nodes.addresses
    const client = await connectNode(nodes, { name: 'first', ...first! })
    try {
      await client.config('SET', 'requirepass', 'another-password')
      const auth = await runCli('init/cluster-create', ['--seeds', seeds], env)
      expect(auth.exitCode).toBe(78)
      expect(auth.stderr).toMatch(new RegExp(`^cluster:create: ${escape(`${first!.host}:${first!.port}`)} rejects the password in the secret file`))
    } finally {
      await client.config('SET', 'requirepass', nodes.password)
      client.disconnect()
    }

    const other = await connectNode(nodes, { name: 'second', ...second! })
    try {
      await other.call('DEBUG', 'POPULATE', '3')
      const full = await runCli('init/cluster-create', ['--seeds', seeds], env)
      expect(full.exitCode).toBe(1)
      expect(full.stderr).toMatch(new RegExp(`^cluster:create: cannot form a cluster: ${escape(`${second!.host}:${second!.port}`)} holds 3 key\\(s\\); nothing was changed`))
    } finally {
      await other.flushall()
      other.disconnect()
    }
    const standalone = await startExternalNodes({ count: 1, firstHost: 30, password: nodes.password, extraConf: ['cluster-enabled no'] })
    try {
      const plain = `${standalone.addresses[0]!.host}:${standalone.port}`
      const noCluster = await runCli('init/cluster-create', ['--seeds', `${seeds},${plain}`], env)
      expect(noCluster.exitCode).toBe(78)
      expect(noCluster.stderr).toMatch(new RegExp(`^cluster:create: cannot form a cluster: ${escape(plain)} runs without cluster mode \\(cluster-enabled no\\)\n {2}fix: start every node with cluster-enabled yes`))
    } finally {
      await standalone.cleanup()
    }
    for (const address of nodes.addresses) {
      const c = await connectNode(nodes, { name: 'check', ...address })
      expect(parseClusterNodes((await c.cluster('NODES')) as string), `${address.host}:${address.port}`).toHaveLength(1)
      c.disconnect()
    }
  }, 120_000)
})
