import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { inflateSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster, connectNode } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'

const run = promisify(execFile)
const KEYS = 300
const EXPIRING = 60

/** promtool's verdict on exposition text: its exit code and complaints. */
function promtool(text: string): { status: number; output: string } {
  try {
    return { status: 0, output: execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }) }
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string }
    return { status: e.status, output: `${e.stdout}${e.stderr}` }
  }
}

describe('report', () => {
  let test: TestStack
  beforeAll(async () => {
    // a 1 s node timeout: the failover test below waits ~2 s, not ~8 s
    test = await createTestStack({ env: { REDIS_CLUSTER_NODE_TIMEOUT: '1000' } })
    const up = await runCli('init/up', ['--json'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
    const cluster = connectCluster(test.load())
    try {
      await Promise.all(Array.from({ length: KEYS }, (_, i) => (i < EXPIRING ? cluster.set(`k:${i}`, 'v', 'EX', 3600) : cluster.set(`k:${i}`, 'v'))))
      await Promise.all(Array.from({ length: 20 }, (_, i) => cluster.get(`k:${i * 15}`))) // hits
      await Promise.all(Array.from({ length: 20 }, (_, i) => cluster.get(`missing:${i}`))) // misses
    } finally {
      cluster.disconnect()
    }
  }, 60_000)
  afterAll(() => test?.cleanup())

  it('--json: every node with keys, expiry, memory, clients, replication; shard and cluster totals', async () => {
    const result = await runCli('monitor/report', ['--json'], test.env)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ complete: true, totals: { nodes: 6, nodesUp: 6, keys: KEYS, keysWithExpiry: EXPIRING } })
    expect(report.nodes.map((n: { node: string }) => n.node)).toEqual(['redis-node-0', 'redis-node-1', 'redis-node-2', 'redis-node-3', 'redis-node-4', 'redis-node-5'])
    expect(report.nodes[0]).toMatchObject({ up: true, role: 'master', shard: '0-5460', slotCount: 5461, address: `127.0.0.1:${test.ports[0]}`, aofEnabled: true, rdbLastSaveOk: true })
    expect(report.nodes[3]).toMatchObject({ up: true, role: 'replica', master: 'redis-node-0', shard: '0-5460', linkUp: true, keys: report.nodes[0].keys })
    expect(report.shards.map((s: { shard: string; master: string }) => `${s.shard} ${s.master}`)).toEqual(['0-5460 redis-node-0', '5461-10922 redis-node-1', '10923-16383 redis-node-2'])
    const masters = report.nodes.slice(0, 3)
    expect(masters.reduce((sum: number, n: { keys: number }) => sum + n.keys, 0)).toBe(KEYS)
    expect(masters.reduce((sum: number, n: { hits: number }) => sum + n.hits, 0)).toBe(20)
    expect(masters.reduce((sum: number, n: { misses: number }) => sum + n.misses, 0)).toBe(20)
    for (const replica of report.nodes.slice(3)) {
      expect(replica.lagBytes).toBeGreaterThanOrEqual(0)
      expect(replica.lagSeconds).toBeGreaterThanOrEqual(0)
    }
    for (const node of report.nodes) expect(node.usedMemory).toBeGreaterThan(0)
  })

  it('prints a table that fits 120 columns (or --width), hiding the least important columns; --wide shows them all', async () => {
    const table = await runCli('monitor/report', [], test.env)
    expect(table.exitCode).toBe(0)
    expect(table.stdout).toMatch(/^SHARD +NODE +ROLE +KEYS +EXPIRY +MEMORY .*LAG +RDB +AOF$/m)
    expect(table.stdout).toMatch(/^ +redis-node-4 +replica +\d+ /m)
    expect(table.stdout).toMatch(new RegExp(`^cluster: 6/6 nodes up, ${KEYS} keys \\(${EXPIRING} with expiry\\)`, 'm'))
    expect(Math.max(...table.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(120)

    const narrow = await runCli('monitor/report', ['--width', '80'], test.env)
    expect(Math.max(...narrow.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80)
    expect(narrow.stdout).toMatch(/^hidden to fit 80 columns: [^(]*FRAG[^(]*\(--wide\s+shows\s+every\s+column\)$/m)
    expect(narrow.stdout).toMatch(/^SHARD +NODE +ROLE +KEYS .*MEMORY/m)

    const wide = await runCli('monitor/report', ['--wide'], test.env)
    expect(wide.stdout).toMatch(/^SHARD +NODE +ROLE +ADDRESS +MASTER +SLOTS +KEYS .*PEAK .*BLOCKED .*REJECTED +OFFSET +LAG +RDB +CHANGES +AOF +AOF-SIZE$/m)
    expect(wide.stdout).not.toMatch(/hidden to fit/)

    const bad = await runCli('monitor/report', ['--width', 'ten'], test.env)
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/^report: --width ten: expected a whole number of columns, at least 40\n {2}fix: /)
  })

  it('--prom: Prometheus text that promtool accepts, with stable redis_cluster_ names', async () => {
    const result = await runCli('monitor/report', ['--prom'], test.env)
    expect(result.exitCode).toBe(0)
    expect(promtool(result.stdout)).toEqual({ status: 0, output: '' })
    expect(result.stdout).toMatch(/^redis_cluster_report_complete 1$/m)
    expect(result.stdout).toMatch(new RegExp(`^redis_cluster_report_keys ${KEYS}$`, 'm'))
    expect(result.stdout).toMatch(/^redis_cluster_node_up\{node="redis-node-5"\} 1$/m)
    expect(result.stdout).toMatch(/^redis_cluster_node_info\{node="redis-node-3",address="[^"]+",role="replica",master="redis-node-0",shard="0-5460"\} 1$/m)
    expect(result.stdout).toMatch(/^redis_cluster_node_replication_lag_bytes\{node="redis-node-4"\} \d+$/m)
    expect(result.stdout).toMatch(/^redis_cluster_shard_keys\{shard="5461-10922"\} \d+$/m)
    for (const name of result.stdout.match(/^[a-z_]+(?=[ {])/gm)!) expect(name).toMatch(/^redis_cluster_/)

    const both = await runCli('monitor/report', ['--prom', '--json'], test.env)
    expect(both.exitCode).toBe(2)
    expect(both.stderr).toMatch(/--prom and --json/)
  })

  it('--textfile DIR: writes redis_cluster.prom atomically (nothing else left in DIR); an unwritable DIR exits 78 with a fix', async () => {
    const dir = join(test.dir, 'textfiles')
    mkdirSync(dir)
    const result = await runCli('monitor/report', ['--textfile', dir, '--quiet'], test.env)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toBe('')
    expect(readdirSync(dir)).toEqual(['redis_cluster.prom'])
    const text = readFileSync(join(dir, 'redis_cluster.prom'), 'utf8')
    expect(promtool(text).status).toBe(0)
    expect(text).toMatch(/^redis_cluster_node_keys\{node="redis-node-0"\} \d+$/m)

    execFileSync('chattr', ['+i', dir])
    try {
      const refused = await runCli('monitor/report', ['--textfile', dir, '-q'], test.env)
      expect(refused.exitCode).toBe(78)
      expect(refused.stderr).toMatch(new RegExp(`^report: cannot write ${dir}/redis_cluster.prom: permission denied \\(EPERM\\)\\n {2}fix: .*point --textfile at another directory`))
      expect(readdirSync(dir)).toEqual(['redis_cluster.prom'])
    } finally {
      execFileSync('chattr', ['-i', dir])
    }
    const missing = await runCli('monitor/report', ['--textfile', join(test.dir, 'nowhere'), '-q'], test.env)
    expect(missing.exitCode).toBe(78)
    expect(missing.stderr).toMatch(/cannot write .*nowhere\/redis_cluster\.prom: the directory .*nowhere does not exist\n {2}fix: create it/)
  })

  it('--html FILE: a self-contained page whose tables and charts render in headless chromium', async () => {
    const file = join(test.dir, 'report.html')
    const result = await runCli('monitor/report', ['--html', file, '-q'], test.env)
    expect(result.exitCode, result.stderr).toBe(0)
    const html = readFileSync(file, 'utf8')
    expect(html).not.toMatch(/<link|\ssrc=|\shref=|@import|url\(/) // nothing loaded from anywhere

    const browse = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${join(test.dir, 'chromium')}`, '--window-size=1400,1000']
    const { stdout: dom } = await run('chromium', [...browse, '--dump-dom', `file://${file}`], { timeout: 60_000, maxBuffer: 16 << 20 })
    expect(dom).toMatch(/<html[^>]* data-charts="rendered"/) // the inline script ran to its end
    expect(dom.match(/<section class="shard">/g)).toHaveLength(3)
    expect(dom.match(/<tr><td>redis-node-\d<\/td>/g)).toHaveLength(6)
    for (const chart of ['chart-keys', 'chart-memory', 'chart-lag']) expect(dom).toMatch(new RegExp(`<svg id="${chart}"`))
    expect(dom.match(/<rect /g)).toHaveLength(6 + 6 + 3)

    const png = join(test.dir, 'report.png')
    await run('chromium', [...browse, `--screenshot=${png}`, `file://${file}`], { timeout: 60_000 })
    const { width, height, inked } = inkedPixels(readFileSync(png))
    expect(width).toBe(1400)
    // a blank page has no pixel that is not background; text, tables and bars cover several percent
    expect(inked / (width * height)).toBeGreaterThan(0.02)

    writeFileSync(join(test.dir, 'a-file'), '')
    const refused = await runCli('monitor/report', ['--html', join(test.dir, 'a-file', 'report.html'), '-q'], test.env)
    expect(refused.exitCode).toBe(78)
    expect(refused.stderr).toMatch(/a-file is a file, not a directory\n {2}fix: .*point --html at another file/)
  }, 150_000)

  it('a node refusing the password is a row saying so; exit 1 (incomplete)', async () => {
    const stack = test.load()
    const client = await connectNode(stack, stack.nodes[4]!)
    try {
      // This connection stays logged in; new ones as admin are refused.
      await client.call('ACL', 'SETUSER', 'admin', 'resetpass', '>another-password')
      const result = await runCli('monitor/report', ['--json'], test.env)
      expect(result.exitCode).toBe(1)
      const report = JSON.parse(result.stdout)
      expect(report.complete).toBe(false)
      expect(report.nodes[4]).toMatchObject({ node: 'redis-node-4', up: false, role: 'replica', shard: '5461-10922', error: 'rejects the password in the secret file' })
      const table = await runCli('monitor/report', [], test.env)
      expect(table.stdout).toMatch(/^ +redis-node-4 +down +- /m)
      expect(table.stdout).toMatch(/^redis-node-4: rejects the password in the secret file$/m)
      expect(table.stdout).toMatch(/^report INCOMPLETE: not every node answered$/m)
    } finally {
      await client.call('ACL', 'SETUSER', 'admin', 'resetpass', `>${test.password}`)
      client.disconnect()
    }
  })

  it('a node down is a row saying so: exit 1, node_up 0 in --prom and the textfile', async () => {
    const [replica] = (await localRuntime.ps(test.load())).filter((n) => n.node === 'redis-node-5')
    process.kill(replica!.pid!, 'SIGKILL')
    const dir = join(test.dir, 'textfiles-down')
    mkdirSync(dir)
    const result = await runCli('monitor/report', ['--textfile', dir], test.env)
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toMatch(/^redis-node-5: is not running \(connection refused\)$/m)
    expect(result.stdout).toMatch(/^cluster: 5\/6 nodes up/m)
    expect(Math.max(...result.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(120)
    const text = readFileSync(join(dir, 'redis_cluster.prom'), 'utf8')
    expect(promtool(text).status).toBe(0)
    expect(text).toMatch(/^redis_cluster_node_up\{node="redis-node-5"\} 0$/m)
    expect(text).toMatch(/^redis_cluster_report_complete 0$/m)
    expect(text).not.toMatch(/^redis_cluster_node_keys\{node="redis-node-5"\}/m)
  })

  it('a master down after its replica took over stays in its shard, whose master is the replica now', async () => {
    const [master] = (await localRuntime.ps(test.load())).filter((n) => n.node === 'redis-node-1')
    process.kill(master!.pid!, 'SIGKILL')
    const report = async () => JSON.parse((await runCli('monitor/report', ['--json'], test.env)).stdout)
    await expect.poll(async () => (await report()).nodes[4].role, { timeout: 60_000, interval: 500 }).toBe('master')
    const after = await report()
    expect(after.nodes[1]).toMatchObject({ node: 'redis-node-1', up: false, shard: '5461-10922' })
    expect(after.shards[1]).toMatchObject({ shard: '5461-10922', master: 'redis-node-4', nodes: ['redis-node-1', 'redis-node-4'], nodesUp: 1 })
  }, 90_000)
})

/** Decodes an 8-bit RGB(A) PNG (what chromium writes) and counts pixels that differ from the top-left one (the background). */
function inkedPixels(png: Buffer): { width: number; height: number; inked: number } {
  let at = 8
  let width = 0
  let height = 0
  let channels = 0
  const data: Buffer[] = []
  while (at < png.length) {
    const length = png.readUInt32BE(at)
    const type = png.toString('ascii', at + 4, at + 8)
    const body = png.subarray(at + 8, at + 8 + length)
    if (type === 'IHDR') {
      ;[width, height] = [body.readUInt32BE(0), body.readUInt32BE(4)]
      expect([body[8], body[12]]).toEqual([8, 0]) // 8 bits, not interlaced
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0
      expect(channels).toBeGreaterThan(0)
    }
    if (type === 'IDAT') data.push(body)
    at += 12 + length
  }
  const raw = inflateSync(Buffer.concat(data))
  const stride = width * channels
  const pixels = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x]!
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0
      const p = a + b - c
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c
      pixels[y * stride + x] = (value + [0, a, b, (a + b) >> 1, paeth][filter]!) & 0xff
    }
  }
  let inked = 0
  for (let i = 0; i < pixels.length; i += channels) if (pixels[i] !== pixels[0] || pixels[i + 1] !== pixels[1] || pixels[i + 2] !== pixels[2]) inked++
  return { width, height, inked }
}
