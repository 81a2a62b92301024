import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answered, connectCluster, connectNode, countSlots, readNodes, runRedisCli, type NodeAnswer, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, runCli, REPO_ROOT, type TestStack } from '@redis-cluster/test-utils'

const KEYS = 20_000

/** Each node's own view, by name. */
async function views(stack: Stack): Promise<Map<string, NodeAnswer>> {
  return new Map((await readNodes(stack)).filter(answered).map((a) => [a.node.name, a]))
}

/** Every key written before is readable through a cluster client, with its value. */
async function expectAllKeys(stack: Stack): Promise<void> {
  const cluster = connectCluster(stack)
  try {
    const values = await Promise.all(Array.from({ length: KEYS }, (_, i) => cluster.get(`key:${i}`)))
    expect(values.filter((v, i) => v !== `value-${i}`)).toEqual([])
  } finally {
    cluster.disconnect()
  }
}

/** The reshard command as a child we can signal; resolves `started` on its first progress line. */
function startReshard(env: Record<string, string>, args: readonly string[]) {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/run.mjs'), 'init', 'cluster-reshard', ...args], { env: { ...process.env, ...env } })
  let stderr = ''
  let stdout = ''
  const started = new Promise<void>((resolve) => child.stderr.on('data', (d) => (stderr += d) && /moving \d+ slots/.test(stderr) && resolve()))
  child.stdout.on('data', (d) => (stdout += d))
  const exited = new Promise<{ exitCode: number | null; stderr: string; stdout: string }>((resolve) => child.on('close', (exitCode) => resolve({ exitCode, stderr, stdout })))
  return { child, started, exited }
}

describe('cluster:reshard and cluster:rebalance', () => {
  let test: TestStack
  let stack: Stack
  beforeAll(async () => {
    test = await createTestStack()
    const up = await runCli('init/up', ['-q'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
    stack = test.load()
    const cluster = connectCluster(stack)
    await Promise.all(Array.from({ length: KEYS }, (_, i) => cluster.set(`key:${i}`, `value-${i}`)))
    cluster.disconnect()
  }, 120_000)
  afterAll(() => test?.cleanup())

  it('--dry-run prints the plan and moves nothing', async () => {
    const result = await runCli('init/cluster-reshard', ['--from', 'redis-node-0', '--to', '1', '--slots', '100', '--dry-run'], test.env)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^redis-node-0 -> redis-node-1: 100 slots \(5361-5460\)$/m)
    expect(result.stdout).toMatch(/dry run: would move 100 slots; nothing changed/)
    expect(countSlots((await views(stack)).get('redis-node-0')!.myself.slots)).toBe(5461)
  })

  it('moves K slots with their keys, by name, port or node id; every node agrees; no key lost', async () => {
    const before = await views(stack)
    const toId = before.get('redis-node-2')!.id
    const result = await runCli('init/cluster-reshard', ['--json', '--from', `${stack.nodes[0]!.port}`, '--to', toId.slice(0, 8), '--slots', '500', '--pipeline', '7'], test.env)
    expect(result.exitCode, result.stderr).toBe(0)
    const json = JSON.parse(result.stdout)
    expect(json).toMatchObject({ dryRun: false, slots: 500, pipeline: 7, moves: [{ from: 'redis-node-0', to: 'redis-node-2', slots: 500, ranges: '4961-5460' }] })
    expect(json.keys).toBeGreaterThan(400) // ~20000 * 500/16384
    const after = await views(stack)
    for (const view of after.values()) {
      const entry = view.entries.find((e) => e.id === toId)!
      expect(entry.slots.map((r) => `${r.start}-${r.end}`), view.node.name).toEqual(['4961-5460', '10923-16383'])
    }
    await expectAllKeys(stack)
    expect((await runCli('monitor/status', ['-q'], test.env)).exitCode).toBe(0)
  })

  it('rebalance evens the masters out, then has nothing to do', async () => {
    const plan = await runCli('init/cluster-rebalance', ['--dry-run'], test.env)
    expect(plan.exitCode, plan.stderr).toBe(0)
    expect(plan.stdout).toMatch(/^redis-node-2 -> redis-node-0: 500 slots/m)
    const result = await runCli('init/cluster-rebalance', ['--json'], test.env)
    expect(result.exitCode, result.stderr).toBe(0)
    const masters = [...(await views(stack)).values()].filter((v) => v.myself.role === 'master')
    expect(masters.map((m) => countSlots(m.myself.slots)).sort()).toEqual([5461, 5461, 5462])
    const again = await runCli('init/cluster-rebalance', [], test.env)
    expect(again.stdout).toMatch(/nothing to move/)
    await expectAllKeys(stack)
  })

  const badReshards: [string[], RegExp][] = [
    [['--from', '0', '--to', '1', '--slots', 'many'], /--slots 'many' is not a whole number from 1 to 16384/],
    [['--from', '0', '--to', '1', '--slots', '0'], /--slots '0' is not a whole number/],
    [['--from', '0', '--to', '1', '--slots', '6000'], /--slots 6000: redis-node-0 owns only \d+ slots/],
    [['--from', 'redis-node-9', '--to', '1', '--slots', '1'], /--from: unknown node 'redis-node-9'/],
    [['--from', '0', '--to', '4', '--slots', '1'], /--to: redis-node-4 is a replica of redis-node-1; slots live on masters/],
    [['--from', '0', '--to', '0', '--slots', '1'], /--from and --to both name redis-node-0/],
    [['--to', '0', '--slots', '1'], /--from is required/],
    [['--from', '0', '--to', '1', '--slots', '1', '--pipeline', '1e3'], /--pipeline '1e3' is not a whole number/],
  ]
  const badWeights: [string, RegExp][] = [
    ['redis-node-0=two', /--weights: 'redis-node-0=two' is not NODE=WEIGHT/],
    ['redis-node-7=1', /--weights: unknown node 'redis-node-7'/],
    ['0=0,1=0,2=0', /every master weighs 0/],
  ]

  it('refuses bad input with exit 2 and a fix line: slot counts, weights, unknown nodes, replicas', async () => {
    // one at a time: each takes the stack lock
    const runs: (readonly [() => ReturnType<typeof runCli>, RegExp])[] = [
      ...badReshards.map(([args, message]) => [() => runCli('init/cluster-reshard', args, test.env), message] as const),
      ...badWeights.map(([weights, message]) => [() => runCli('init/cluster-rebalance', ['--weights', weights], test.env), message] as const),
    ]
    for (const [run, message] of runs) {
      const result = await run()
      expect(result.stderr).toMatch(message)
      expect(result.exitCode).toBe(2)
      expect(result.stderr).toMatch(/\n {2}fix: /)
    }
  })

  it('refuses an unhealthy cluster (exit 1) unless --force; a silent node even with --force (exit 75)', async () => {
    // a replica that cannot authenticate to its master: its link stays down, the node answers
    const replica = await connectNode(stack, stack.nodes[3]!)
    try {
      await replica.config('SET', 'masterauth', 'wrong')
      await replica.call('CLIENT', 'KILL', 'TYPE', 'master')
      const result = await runCli('init/cluster-reshard', ['--from', '0', '--to', '1', '--slots', '1'], test.env)
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toMatch(/the cluster is not healthy: .*redis-node-3: master_link_status:down/)
      expect(result.stderr).toMatch(/fix: nothing was changed; .*pnpm cluster:fix/)
      const forced = await runCli('init/cluster-reshard', ['--from', '0', '--to', '1', '--slots', '1', '--force', '--dry-run'], test.env)
      expect(forced.exitCode, forced.stderr).toBe(0)
    } finally {
      await replica.config('SET', 'masterauth', stack.users!.replication[0]!)
      replica.disconnect()
    }
    const pid = Number((await runRedisCli(stack, ['-p', `${stack.nodes[5]!.port}`, 'info', 'server'])).match(/process_id:(\d+)/)![1])
    process.kill(pid, 'SIGSTOP')
    try {
      const result = await runCli('init/cluster-rebalance', ['--force'], test.env)
      expect(result.exitCode).toBe(75)
      expect(result.stderr).toMatch(/not every node answers: redis-node-5/)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  })

  it('Ctrl-C mid-move: exits 130 naming the slots in flight and cluster:fix; a second run meanwhile exits 75; fix finishes it, no key lost', async () => {
    await expect.poll(async () => (await runCli('monitor/status', ['-q'], test.env)).exitCode, { timeout: 30_000, interval: 500 }).toBe(0)
    const run = startReshard(test.env, ['--from', '1', '--to', '2', '--slots', '3000', '--pipeline', '2'])
    await run.started
    const second = await runCli('init/cluster-rebalance', ['--dry-run'], test.env)
    expect(second.exitCode).toBe(75)
    expect(second.stderr).toMatch(/locked by cluster:reshard/)
    run.child.kill('SIGINT')
    const { exitCode, stderr } = await run.exited
    expect(exitCode, stderr).toBe(130)
    expect(stderr).toMatch(/stopped while slots [\d,-]+ were in flight from redis-node-1 to redis-node-2 \(.*\): run `pnpm cluster:fix`/)
    // what `pnpm cluster:fix` wraps; the open slot is repaired with its keys
    const fix = await runRedisCli(stack, ['--cluster', 'fix', `127.0.0.1:${stack.nodes[0]!.port}`, '--cluster-yes'])
    expect(fix).toMatch(/All 16384 slots covered/)
    await expectAllKeys(stack)
  }, 120_000)

  it('a source node dying mid-move: exits 75 naming the slots in flight and cluster:fix; restarted and fixed, no key lost', async () => {
    await expect.poll(async () => (await runCli('monitor/status', ['-q'], test.env)).exitCode, { timeout: 30_000, interval: 500 }).toBe(0)
    const run = startReshard(test.env, ['--from', '0', '--to', '1', '--slots', '3000', '--pipeline', '2'])
    await run.started
    const source = (await localRuntime.ps(stack)).find((n) => n.node === 'redis-node-0')!
    process.kill(source.pid!, 'SIGKILL')
    const { exitCode, stderr } = await run.exited
    expect(exitCode, stderr).toBe(75)
    expect(stderr).toMatch(/moving slots stopped: redis-node-0 .*; slots [\d,-]+ were in flight from redis-node-0 to redis-node-1 \(.*\)\n {2}fix: run `pnpm cluster:fix`/)
    // it comes back with its AOF and its MIGRATING slots; keys whose delete its AOF missed are on both sides then
    await localRuntime.start(stack)
    await expect.poll(async () => (await runCli('init/cluster-fix', ['-q'], test.env)).exitCode, { timeout: 60_000, interval: 1000 }).toBe(0)
    await expectAllKeys(stack)
  }, 120_000)
})
