import { execFile, execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster, connectNode, type Address } from '@redis-cluster/core'
import { createExternalCluster, REPO_ROOT, runCli, startExternalNodes, type ExternalNodes } from '@redis-cluster/test-utils'

const run = promisify(execFile)
const KEYS = 400
const RANGES = ['0-4095', '4096-8191', '8192-12287', '12288-16383']
const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length))

/**
 * status, report (every format) and report:watch on a cluster this toolkit
 * did not start: eight plain redis-server nodes on 127.0.0.2-9, four masters
 * (not the spec's three), named host:port. Shards and totals come from the
 * cluster itself.
 */
describe('monitor on the external runtime (4 masters, 4 replicas)', () => {
  let cluster: ExternalNodes
  const extra: ExternalNodes[] = []
  const name = (a: Address) => `${a.host}:${a.port}`
  const admin = async (a: Address, ...command: string[]) => {
    const client = await connectNode(cluster, { name: name(a), ...a })
    try {
      return await client.call(command[0]!, ...command.slice(1))
    } finally {
      client.disconnect()
    }
  }
  beforeAll(async () => {
    cluster = await createExternalCluster({ masters: 4, replicas: 1 })
    const writer = connectCluster(await cluster.load())
    try {
      await Promise.all(Array.from({ length: KEYS }, (_, i) => writer.set(`k:${i}`, 'v')))
    } finally {
      writer.disconnect()
    }
  }, 90_000)
  afterAll(async () => {
    await cluster?.cleanup()
    for (const nodes of extra) await nodes.cleanup()
  })

  it('status and report --json: eight nodes named host:port, four shards and the totals from the live topology', async () => {
    const stack = await cluster.load()
    const status = await runCli('monitor/status', [], cluster.env)
    expect(status.exitCode, status.stderr).toBe(0)
    expect(status.stdout.split('\n').filter((l) => /^127\.0\.0\.\d+:\d+ /.test(l))).toHaveLength(8)

    const result = await runCli('monitor/report', ['--json'], cluster.env)
    expect(result.exitCode, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ complete: true, totals: { nodes: 8, nodesUp: 8, keys: KEYS } })
    expect(report.nodes.map((n: { node: string }) => n.node)).toEqual(stack.nodes.map((n) => n.name))
    for (const node of report.nodes) expect(node.address).toBe(node.node)
    expect(report.shards.map((s: { shard: string }) => s.shard)).toEqual(RANGES)
    for (const [i, shard] of report.shards.entries()) {
      const master = stack.nodes[i]!
      const replica = stack.nodes.find((n) => n.masterIndex === i)!
      expect(shard).toMatchObject({ master: master.name, nodes: [master.name, replica.name], nodesUp: 2, slotCount: 4096 })
      expect(report.nodes.find((n: { node: string }) => n.node === replica.name)).toMatchObject({ role: 'replica', master: master.name, shard: shard.shard, linkUp: true })
    }
    expect(report.shards.reduce((sum: number, s: { keys: number }) => sum + s.keys, 0)).toBe(KEYS)
  }, 60_000)

  it('the table groups the four shards and fits 120 columns; --wide shows every column; --prom passes promtool; --textfile and --html', async () => {
    const table = await runCli('monitor/report', [], cluster.env)
    expect(table.exitCode, table.stderr).toBe(0)
    expect(widest(table.stdout)).toBeLessThanOrEqual(120)
    for (const range of RANGES) expect(table.stdout).toMatch(new RegExp(`^${range} +127\\.0\\.0\\.\\d+:${cluster.port} +master `, 'm'))
    expect(table.stdout.match(/^shard \d+-\d+: master 127\.0\.0\.\d+:\d+, 2\/2 up/gm)).toHaveLength(4)
    expect(table.stdout).toMatch(new RegExp(`^cluster: 8/8 nodes up, ${KEYS} keys`, 'm'))
    const wide = await runCli('monitor/report', ['--wide'], cluster.env)
    expect(wide.stdout).toMatch(/^SHARD +NODE +ROLE +ADDRESS +MASTER +SLOTS +KEYS .* AOF-SIZE$/m)

    const textfile = join(cluster.dir, 'textfile')
    const html = join(cluster.dir, 'report.html')
    mkdirSync(textfile)
    const prom = await runCli('monitor/report', ['--prom', '--textfile', textfile, '--html', html], cluster.env)
    expect(prom.exitCode, prom.stderr).toBe(0)
    expect(execFileSync('promtool', ['check', 'metrics'], { input: prom.stdout, encoding: 'utf8' })).toBe('')
    const written = readFileSync(join(textfile, 'redis_cluster.prom'), 'utf8')
    expect(execFileSync('promtool', ['check', 'metrics'], { input: written, encoding: 'utf8' })).toBe('')
    for (const text of [prom.stdout, written]) expect(text.match(/^redis_cluster_node_up\{node="127\.0\.0\.\d+:\d+"\} 1$/gm)).toHaveLength(8)
    expect(prom.stdout.match(/^redis_cluster_shard_keys\{shard="[\d-]+"\} \d+$/gm)).toHaveLength(4)

    const { stdout: dom } = await run('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${join(cluster.dir, 'chromium')}`, '--dump-dom', `file://${html}`], { timeout: 60_000, maxBuffer: 16 << 20 })
    expect(dom).toMatch(/<html[^>]* data-charts="rendered"/)
    expect(dom.match(/<section class="shard">/g)).toHaveLength(4)
    expect(dom.match(/<tr><td>127\.0\.0\.\d+:\d+<\/td>/g)).toHaveLength(8)
  }, 120_000)

  it('announced hostnames (long names): the table still fits 120 columns; the bars of the page start right of the names', async () => {
    const hostname = (a: Address) => `redis-cache-${a.host.split('.')[3]}.prod.eu-west-1.example.internal`
    const named = async (expected: (a: Address) => string) => {
      await expect.poll(async () => (await cluster.load()).nodes.map((n) => n.name).sort(), { timeout: 30_000, interval: 200 }).toEqual(cluster.addresses.map((a) => `${expected(a)}:${a.port}`).sort())
    }
    await Promise.all(cluster.addresses.map((a) => admin(a, 'CONFIG', 'SET', 'cluster-announce-hostname', hostname(a))))
    try {
      await named(hostname)
      const html = join(cluster.dir, 'named.html')
      const table = await runCli('monitor/report', ['--html', html], cluster.env)
      expect(table.exitCode, table.stderr).toBe(0)
      expect(widest(table.stdout)).toBeLessThanOrEqual(120)
      expect(table.stdout).toMatch(/^0-4095 +redis-cache-\d+\.prod\.eu-west-1\.example\.internal:\d+ +master /m)
      expect(table.stdout).toMatch(/^hidden to fit 120 columns: /m)
      expect(table.stdout).toMatch(/^shard 0-4095: master redis-cache-\d+\.prod/m) // long lines wrap instead

      const { stdout: dom } = await run('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${join(cluster.dir, 'chromium')}`, '--dump-dom', `file://${html}`], { timeout: 60_000, maxBuffer: 16 << 20 })
      expect(dom).toMatch(/<html[^>]* data-charts="rendered"/)
      const bars = [...dom.matchAll(/<rect x="(\d+)"/g)].map((m) => Number(m[1]))
      expect(bars).toHaveLength(8 + 8 + 4)
      // at ~6.6 px a character of 11 px text, a 52-character name needs ~340 px (the label column was a fixed 110)
      for (const x of bars) expect(x).toBeGreaterThanOrEqual(`${hostname(cluster.addresses[0]!)}:${cluster.port}`.length * 6.6)
    } finally {
      await Promise.all(cluster.addresses.map((a) => admin(a, 'CONFIG', 'SET', 'cluster-announce-hostname', '')))
    }
    await named((a) => a.host)
  }, 120_000)

  it('report:watch reads the topology anew each refresh: a node joining the cluster shows up, as an empty master', async () => {
    const watch = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'run.mjs'), 'monitor', 'report-watch', '--interval', '0.5'], { cwd: REPO_ROOT, env: { ...process.env, ...cluster.env }, stdio: 'pipe' }) as ChildProcessWithoutNullStreams
    const out = { stdout: '', stderr: '' }
    watch.stdout.on('data', (d) => (out.stdout += d))
    watch.stderr.on('data', (d) => (out.stderr += d))
    const exit = new Promise<number | null>((resolve) => watch.on('close', (code) => resolve(code)))
    const frames = () => out.stdout.split(/report:watch every /).slice(1)
    try {
      await expect.poll(() => frames().length, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2)
      expect(frames()[1]).toMatch(/^cluster: 8\/8 nodes up/m)
      const joining = await startExternalNodes({ count: 1, firstHost: 40, password: cluster.password })
      extra.push(joining)
      const newcomer = joining.addresses[0]!
      await admin(cluster.addresses[0]!, 'CLUSTER', 'MEET', newcomer.host, `${newcomer.port}`)
      await expect.poll(() => frames().at(-1) ?? '', { timeout: 30_000, interval: 100 }).toMatch(new RegExp(`^- +${name(newcomer).replace(/\./g, '\\.')} +master `, 'm'))
      expect(frames().at(-1)).toMatch(/^cluster: 9\/9 nodes up/m)
      watch.kill('SIGINT')
      expect(await exit).toBe(0)
      expect(out.stderr).toBe('')
    } finally {
      if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL')
    }
  }, 90_000)

  it('nodes down: a replica stays in its shard; a master failed over is in no known shard (no spec says whose it was); exit 1', async () => {
    const stack = await cluster.load()
    const [master, replica] = [stack.nodes[0]!, stack.nodes.find((n) => n.masterIndex === 1)!]
    const promoted = stack.nodes.find((n) => n.masterIndex === 0)!
    process.kill(cluster.pid(replica), 'SIGKILL')
    process.kill(cluster.pid(master), 'SIGKILL')
    await expect.poll(async () => admin(promoted, 'ROLE').then((r) => (r as string[])[0]), { timeout: 30_000, interval: 200 }).toBe('master')

    const table = await runCli('monitor/report', [], cluster.env)
    expect(table.exitCode).toBe(1)
    expect(table.stdout).toMatch(new RegExp(`^4096-8191 +\\S+ +master .*\\n +${replica.name.replace(/\./g, '\\.')} +down `, 'm'))
    expect(table.stdout).toMatch(new RegExp(`^0-4095 +${promoted.name.replace(/\./g, '\\.')} +master `, 'm'))
    expect(table.stdout).toMatch(new RegExp(`^\\? +${master.name.replace(/\./g, '\\.')} +down `, 'm'))
    expect(table.stdout).toContain(`in no known shard: ${master.name} (0/1 up)`)
    expect(table.stdout).toMatch(new RegExp(`^${replica.name.replace(/\./g, '\\.')}: .*connection refused`, 'm'))
    expect(table.stdout).toMatch(/^report INCOMPLETE/m)

    const prom = await runCli('monitor/report', ['--prom'], cluster.env)
    expect(prom.exitCode).toBe(1)
    expect(execFileSync('promtool', ['check', 'metrics'], { input: prom.stdout, encoding: 'utf8' })).toBe('')
    expect(prom.stdout).toContain(`redis_cluster_node_up{node="${replica.name}"} 0`)
    expect(prom.stdout).toContain(`redis_cluster_node_up{node="${master.name}"} 0`)
  }, 90_000)
})
