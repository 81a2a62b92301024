import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { connectAll, parseInfo, waitForHealthy, type NodeClient, type Stack, type StackNode } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import type { AofRewriteResult } from '../src/index.ts'

const KEYS_PER_SHARD = 300
const OVERWRITES = 100

describe('aof:rewrite', () => {
  let test: TestStack
  let stack: Stack
  let clients: NodeClient[]
  const persistence = async (i: number) => parseInfo(await clients[i]!.info('persistence'))
  const masters = () => stack.nodes.filter((n) => n.role === 'master')
  /** Slows every fork's key writes: each rewrite then lasts long enough to be seen by polling. */
  const slowForks = (microsPerKey: number, nodes: readonly StackNode[] = stack.nodes) => Promise.all(nodes.map((n) => clients[n.index]!.config('SET', 'rdb-key-save-delay', `${microsPerKey}`)))
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const result = await runCli('backup/aof-rewrite', args, { ...test.env, ...env })
    return { ...result, json: () => JSON.parse(result.stdout) as AofRewriteResult }
  }
  const baseFile = (node: StackNode) => /^file (\S+) seq \d+ type b$/m.exec(readFileSync(join(node.dataDir, 'appendonlydir', 'appendonly.aof.manifest'), 'utf8'))?.[1]

  beforeAll(async () => {
    test = await createTestStack()
    stack = await formTestStack(test)
    clients = await connectAll(stack)
    // Per master, keys that hash to its slots, each overwritten many times: the AOF grows, the dataset does not.
    for (const master of masters()) {
      let tag = 0
      while (!((n) => n >= master.slots!.start && n <= master.slots!.end)(Number(await clients[master.index]!.cluster('KEYSLOT', `t${tag}`)))) tag++
      const pipeline = clients[master.index]!.pipeline()
      for (let i = 0; i < KEYS_PER_SHARD * OVERWRITES; i++) pipeline.set(`{t${tag}}:k${i % KEYS_PER_SHARD}`, `${i}`.padEnd(100, 'x'))
      await pipeline.exec()
    }
    await waitForHealthy(stack, clients) // replicas caught up: their AOFs grew too
  }, 120_000)
  afterEach(async () => {
    await slowForks(0)
    await waitForHealthy(stack, clients)
  })
  afterAll(async () => {
    clients?.forEach((c) => c.disconnect())
    await test?.cleanup()
  })

  it('shrinks every AOF grown by overwrites, one node at a time, never two of a shard at once', async () => {
    const basesBefore = stack.nodes.map(baseFile)
    await slowForks(1000) // ~0.3 s per rewrite
    // What the nodes say while the command runs: who is rewriting at each poll.
    const seen = new Set<string>()
    const together: string[][] = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        const running = (await Promise.all(stack.nodes.map(async (n) => ((await persistence(n.index)).aof_rewrite_in_progress === '1' ? n : undefined)))).filter((n) => n !== undefined)
        running.forEach((n) => seen.add(n.name))
        if (running.length > 1) together.push(running.map((n) => n.name))
        await sleep(5)
      }
    })()
    const result = await run(['--json']).finally(() => (polling = false))
    await poller
    expect(result.exitCode, result.stderr).toBe(0)
    const { ok, nodes } = result.json()
    expect(ok).toBe(true)
    expect(nodes.map((n) => n.node)).toEqual(['redis-node-3', 'redis-node-4', 'redis-node-5', 'redis-node-0', 'redis-node-1', 'redis-node-2'])
    for (const row of nodes) {
      expect(row).toMatchObject({ result: 'ok', role: row.node < 'redis-node-3' ? 'master' : 'replica' })
      // every node got the writes (masters directly, replicas by replication): ~3 MB of AOF for 300 keys
      expect(row.beforeBytes).toBeGreaterThan(KEYS_PER_SHARD * OVERWRITES * 100)
      expect(row.afterBytes).toBeLessThan(row.beforeBytes! / 10)
      expect(row.baseBytes).toBeGreaterThan(0)
    }
    expect(Object.fromEntries(nodes.map((n) => [n.node, n.shard]))).toMatchObject({ 'redis-node-3': 'redis-node-0', 'redis-node-0': 'redis-node-0', 'redis-node-5': 'redis-node-2' })
    // the run's own record: no two rewrites of a shard overlap (and, serial by design, none at all)
    const spans = nodes.map((n) => ({ shard: n.shard, start: Date.parse(n.startedAt!), end: Date.parse(n.endedAt!) }))
    for (const [i, a] of spans.entries()) for (const b of spans.slice(i + 1)) expect(a.end <= b.start || b.end <= a.start, `${nodes[i]!.node} overlaps`).toBe(true)
    // what the nodes said meanwhile: each was seen rewriting, never two at once
    expect([...seen].sort()).toEqual(stack.nodes.map((n) => n.name))
    expect(together).toEqual([])
    // Redis 7 multi-part AOF: each node switched to a new base file
    stack.nodes.forEach((n, i) => expect(baseFile(n)).not.toBe(basesBefore[i]))
    expect(await clients[0]!.dbsize()).toBe(KEYS_PER_SHARD)
  })

  it('waits for a BGSAVE running on the node instead of failing (--node)', async () => {
    const node = stack.nodes[1]!
    await slowForks(20_000, [node]) // this BGSAVE lasts ~6 s; the rewrite forks later with the delay back at 0
    await clients[1]!.bgsave()
    expect((await persistence(1)).rdb_bgsave_in_progress).toBe('1')
    await slowForks(0, [node])
    const result = await run(['--node', '1', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    const { nodes } = result.json()
    expect(nodes).toHaveLength(1)
    expect(nodes[0]).toMatchObject({ node: 'redis-node-1', role: 'master', result: 'ok', waitedFor: 'a BGSAVE' })
    expect((await persistence(1)).rdb_last_bgsave_status).toBe('ok')
  })

  it('exits 1 naming each node whose rewrite fails (child cannot write, or BGREWRITEAOF refused); the others are rewritten', async () => {
    const [refusing, failing] = [stack.nodes[0]!, stack.nodes[4]!]
    const immutable = [join(refusing.dataDir, 'appendonlydir'), failing.dataDir] // no new incr file: refused at once; no temp file: the child fails
    execFileSync('chattr', ['+i', ...immutable])
    let result
    try {
      result = await run([])
    } finally {
      execFileSync('chattr', ['-i', ...immutable])
    }
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toMatch(/^redis-node-4 +replica +\S+ +- +\S+s +FAILED$/m)
    expect(result.stdout).toMatch(/^redis-node-0 +master +- +- +- +FAILED$/m)
    expect(result.stdout).toMatch(/^redis-node-1 +master +\S+ +\S+ +\S+s +ok$/m)
    expect(result.stdout).toMatch(/^AOF rewrite FAILED on 2 of 6 node\(s\):$/m)
    expect(result.stdout).toMatch(/^ {2}- redis-node-4: its AOF rewrite failed \(aof_last_bgrewrite_status:err\); its old AOF stays in use\n {4}fix: .*pnpm aof:rewrite --node redis-node-4/m)
    expect(result.stdout).toMatch(/^ {2}- redis-node-0 \(127\.0\.0\.1:\d+\) refused BGREWRITEAOF: ERR Can't execute an AOF background rewriting/m)
    // writable again: a rerun of each fixes its aof_last_bgrewrite_status (health reads it)
    for (const node of ['redis-node-0', 'redis-node-4']) expect((await run(['--node', node, '-q'])).exitCode).toBe(0)
  })

  it('a paused node is a failed row within its deadline, not a hang', async () => {
    const [paused] = (await localRuntime.ps(stack)).filter((n) => n.node === 'redis-node-5')
    process.kill(paused!.pid!, 'SIGSTOP')
    let result
    try {
      result = await run(['--json'])
    } finally {
      process.kill(paused!.pid!, 'SIGCONT')
    }
    expect(result.exitCode).toBe(1)
    const { ok, nodes } = result.json()
    expect(ok).toBe(false)
    expect(nodes.find((n) => n.node === 'redis-node-5')).toMatchObject({ result: 'failed', error: expect.stringMatching(/^redis-node-5 \(127\.0\.0\.1:\d+\) did not answer .* in time/) })
    expect(nodes.filter((n) => n.result === 'ok')).toHaveLength(5)
  })

  it('a rewrite outlasting the run deadline is a failed row saying it still runs; later nodes are not started', async () => {
    await slowForks(20_000, [stack.nodes[3]!]) // ~6 s for its 300 keys
    const result = await run(['--json'], { RC_TIMEOUT_MS: '4000' })
    expect(result.exitCode).toBe(1)
    const { nodes } = result.json()
    expect(nodes[0]).toMatchObject({ node: 'redis-node-3', result: 'failed', leftRunning: true, error: expect.stringMatching(/^redis-node-3: timed out .*; the rewrite we started may still be running/) })
    expect((await persistence(3)).aof_rewrite_in_progress).toBe('1')
    for (const row of nodes.slice(1)) expect(row).toMatchObject({ result: 'failed', error: `${row.node}: not started, the run reached its deadline` })
    await expect.poll(async () => (await persistence(3)).aof_rewrite_in_progress, { timeout: 20_000, interval: 100 }).toBe('0')
    expect((await persistence(3)).aof_last_bgrewrite_status).toBe('ok')
  })

  it('a second run while one rewrites exits 75 naming the holder; --quiet prints nothing on success', async () => {
    await slowForks(1000)
    const first = run(['--quiet'])
    await expect.poll(async () => (await Promise.all(stack.nodes.map((n) => persistence(n.index)))).some((i) => i.aof_rewrite_in_progress === '1'), { timeout: 20_000, interval: 10 }).toBe(true)
    const second = await run([])
    expect(second.exitCode).toBe(75)
    expect(second.stderr).toMatch(/^aof:rewrite: the stack is locked by aof:rewrite \(pid \d+/)
    expect(second.stdout).toBe('')
    const done = await first
    expect(done.exitCode, done.stderr).toBe(0)
    expect(done.stdout + done.stderr).toBe('')
  })
})
