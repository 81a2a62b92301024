import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CheckFailedError, classifyFormation, connectAll, formatRanges, parseClusterNodes, waitFor, waitForHealthy, writeAddedNodes, type FormationView, type NodeClient, type Stack, type StackNode } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { REPO_ROOT, allocatePorts, createTestStack, type TestStack } from '@redis-cluster/test-utils'
import { addNode, createCluster, reshard } from '../src/index.ts'

/**
 * The acceptance table of packages/core/src/formation.ts, case by case: each state is
 * built on two fresh local stacks the same way; createCluster acts on one and the init
 * container's compose/node/init-cluster.sh (run on the host) on the other. Both must
 * reach the same outcome and the same layout; what they refuse or leave alone stays as it was.
 */

type Outcome = 'created' | 'completed' | 'existing' | 'refused'

interface Side {
  readonly test: TestStack
  readonly stack: Stack
  /** One per node of the stack, an added node's too. */
  readonly clients: NodeClient[]
  /** A node of another stack, for the case that needs a foreign node. */
  readonly foreign: StackNode | undefined
}

interface Case {
  readonly name: string
  readonly setup?: (side: Side) => Promise<void>
  readonly outcome: Outcome
  /** Each node's own entry afterwards (see layoutOf). Refused and existing states must also be left exactly as they were. */
  readonly layout?: readonly string[]
  /** What both must name when they refuse. */
  readonly problem?: RegExp
  readonly foreign?: true
  /** The stack has an added node, redis-node-6 (recorded as cluster:add-node does, started, not joined). */
  readonly added?: true
}

const SPEC = ['master 0-5460', 'master 5461-10922', 'master 10923-16383', 'replica of 0', 'replica of 1', 'replica of 2']
const SWAPPED = ['replica of 3', 'master 5461-10922', 'master 10923-16383', 'master 0-5460', 'replica of 1', 'replica of 2']
const RANGES = [[0, 5460], [5461, 10922], [10923, 16383]] as const

const addSlots = (side: Side, node: number, [start, end]: readonly [number, number]) => side.clients[node]!.cluster('ADDSLOTSRANGE', start, end)
async function setEpochs(side: Side): Promise<void> {
  await Promise.all(side.clients.map((c, i) => c.cluster('SET-CONFIG-EPOCH', i + 1)))
}

/** Every pair meets, and the test waits until every node knows every other (the old, too weak "formed"). */
async function meetAll(side: Side): Promise<void> {
  const { nodes } = side.stack
  await Promise.all(nodes.flatMap((a) => nodes.filter((b) => b.index > a.index).map((b) => side.clients[a.index]!.call('CLUSTER', 'MEET', '127.0.0.1', b.port, b.busPort))))
  await waitFor(async () => (await readViews(side)).every((v) => v.entries.filter((e) => !e.flags.includes('handshake')).length === nodes.length) || 'not met yet', {
    timeoutMs: 20_000,
    what: 'every node to know every other',
  })
}

/** Forms the spec's six nodes (the added node left out, as before cluster:add-node) and waits until they are healthy. */
async function formSpecNodes(side: Side): Promise<void> {
  const spec = { ...side.stack, nodes: side.stack.nodes.filter((n) => !n.added) }
  const clients = side.clients.slice(0, spec.nodes.length)
  await createCluster(spec, localRuntime, clients)
  await waitForHealthy(spec, clients)
}

async function formWithToolkit(side: Side): Promise<void> {
  await createCluster(side.stack, localRuntime, side.clients)
  await waitForFormed(side)
}

const CASES: readonly Case[] = [
  { name: 'fresh nodes', outcome: 'created', layout: SPEC },
  { name: 'fresh nodes with epochs set (a creation killed after its first command)', setup: setEpochs, outcome: 'created', layout: SPEC },
  { name: 'a formed cluster', setup: formWithToolkit, outcome: 'existing', layout: SPEC },
  {
    name: 'a formed cluster after a failover (pair 0 swapped)',
    setup: async (side) => {
      await formWithToolkit(side)
      // A master ignores a manual failover request from a node it does not see as its replica yet.
      await waitFor(
        async () => {
          const [master, , , replica] = await readViews(side)
          const seen = master!.entries.some((e) => e.id === replica!.myself.id && e.masterId === master!.myself.id)
          return (seen && /master_link_status:up/.test(await side.clients[3]!.info('replication'))) || 'replica not linked or not seen by its master'
        },
        { timeoutMs: 20_000, what: 'node 3 to be node 0\'s linked replica' },
      )
      // Asked again each second: on a loaded machine a manual failover can time out and be dropped.
      await waitFor(
        async () => {
          if (layoutOf(await readViews(side)).join() === SWAPPED.join()) return true
          await side.clients[3]!.cluster('FAILOVER').catch(() => {})
          return 'not swapped yet'
        },
        { timeoutMs: 30_000, intervalMs: 1000, what: 'the failover' },
      )
      await waitForFormed(side)
    },
    outcome: 'existing',
    layout: SWAPPED,
  },
  {
    name: 'a formed cluster after a deliberate reshard (100 slots from node 2 to node 0)',
    setup: async (side) => {
      await formWithToolkit(side)
      const [from, to] = [side.stack.nodes[2]!, side.stack.nodes[0]!]
      const [v0, , v2] = await readViews(side)
      const args = ['--user', side.stack.user, '--cluster', 'reshard', `127.0.0.1:${to.port}`, '--cluster-from', v2!.myself.id, '--cluster-to', v0!.myself.id, '--cluster-slots', '100', '--cluster-yes']
      // redis-cli checks that every node agrees before it moves anything: retry until gossip has settled.
      await waitFor(async () => {
        const { code, output } = await run('redis-cli', args, { REDISCLI_AUTH: side.test.password })
        return code === 0 || `reshard from ${from.name}: ${output.slice(-200)}`
      }, { timeoutMs: 30_000, intervalMs: 500, what: 'redis-cli --cluster reshard' })
      await waitForFormed(side)
    },
    outcome: 'existing',
    layout: ['master 0-5460,10923-11022', 'master 5461-10922', 'master 11023-16383', ...SPEC.slice(3)],
  },
  {
    name: 'a formed cluster with an added master owning slots (cluster:add-node, then 100 slots resharded onto it)',
    added: true,
    setup: async (side) => {
      await formSpecNodes(side)
      await addNode(side.stack, localRuntime, { node: 'redis-node-6' })
      await reshard(side.stack, { from: 'redis-node-2', to: 'redis-node-6', slots: '100' })
      await waitForFormed(side)
    },
    outcome: 'existing',
    layout: [...SPEC.slice(0, 2), 'master 10923-16283', ...SPEC.slice(3), 'master 16284-16383'],
  },
  {
    name: 'an added node not joined (an interrupted cluster:add-node)',
    added: true,
    setup: formSpecNodes,
    outcome: 'refused',
    problem: /added node\(s\) .*are not in a formed cluster with the other nodes: up forms the spec's nodes only, cluster:add-node joins an added one/,
  },
  {
    name: 'all slots assigned and all nodes met, no replica (an `up` killed before REPLICATE)',
    setup: async (side) => {
      await setEpochs(side)
      await Promise.all(RANGES.map((r, i) => addSlots(side, i, r)))
      await meetAll(side)
    },
    outcome: 'completed',
    layout: SPEC,
  },
  {
    name: 'a pair swapped before the replicas were attached',
    setup: async (side) => {
      await Promise.all([addSlots(side, 3, RANGES[0]), addSlots(side, 1, RANGES[1]), addSlots(side, 2, RANGES[2])])
      await meetAll(side)
    },
    outcome: 'completed',
    layout: SWAPPED,
  },
  {
    name: 'only some slots assigned, two nodes met',
    setup: async (side) => {
      await addSlots(side, 0, RANGES[0])
      await side.clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', side.stack.nodes[1]!.port, side.stack.nodes[1]!.busPort)
    },
    outcome: 'completed',
    layout: SPEC,
  },
  { name: "a node owning another master's range", setup: async (side) => void (await addSlots(side, 1, RANGES[0])), outcome: 'refused', problem: /node-1 .*owns slots 0-5460, not its pair's range 5461-10922/ },
  {
    name: 'a sub-range',
    setup: async (side) => {
      await addSlots(side, 0, RANGES[0])
      await addSlots(side, 1, [5461, 6000])
    },
    outcome: 'refused',
    problem: /node-1 .*owns slots 5461-6000, not its pair's range 5461-10922/,
  },
  {
    name: 'both members of a pair owning its range (before they meet)',
    setup: async (side) => {
      await Promise.all([addSlots(side, 0, RANGES[0]), addSlots(side, 3, RANGES[0])])
    },
    outcome: 'refused',
    problem: /node-0 .*and .*node-3 .*both own slots 0-5460/,
  },
  {
    name: 'a foreign node known',
    foreign: true,
    setup: async (side) => {
      const { port, busPort } = side.foreign!
      await addSlots(side, 0, RANGES[0])
      await side.clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', port, busPort)
      await waitFor(async () => (await readViews(side))[0]!.entries.some((e) => e.port === port && !e.flags.includes('handshake')) || 'handshake', { timeoutMs: 20_000, what: 'the foreign handshake' })
    },
    outcome: 'refused',
    problem: /node-0 .*knows a foreign node 127\.0\.0\.1:\d+/,
  },
  {
    name: 'a node replicating outside its pair',
    setup: async (side) => {
      await Promise.all(RANGES.map((r, i) => addSlots(side, i, r)))
      await meetAll(side)
      await side.clients[4]!.cluster('REPLICATE', (await readViews(side))[0]!.myself.id)
    },
    outcome: 'refused',
    problem: /node-4 .*replicates a node outside its pair with .*node-1/,
  },
]

async function readViews(side: Pick<Side, 'clients'>): Promise<FormationView[]> {
  return Promise.all(
    side.clients.map(async (client) => {
      const entries = parseClusterNodes((await client.cluster('NODES')) as string)
      return { entries, myself: entries.find((e) => e.myself)! }
    }),
  )
}

/** Each node's own entry: "master 0-5460", "master", "replica of 0" (by node index). */
function layoutOf(views: readonly FormationView[]): string[] {
  const index = new Map(views.map((v, i) => [v.myself.id, i]))
  return views.map(({ myself }) => (myself.role === 'replica' ? `replica of ${index.get(myself.masterId!) ?? myself.masterId}` : `master ${formatRanges(myself.slots)}`.trim()))
}

/** The layout and who knows whom (foreign nodes by address): what must not change when nothing is done. */
async function snapshot(side: Side) {
  const views = await readViews(side)
  const index = new Map(views.map((v, i) => [v.myself.id, i]))
  return { layout: layoutOf(views), knows: views.map((v) => v.entries.filter((e) => !e.flags.includes('handshake')).map((e) => index.get(e.id) ?? `${e.host}:${e.port}`).sort()) }
}

async function waitForFormed(side: Side): Promise<void> {
  await waitFor(async () => classifyFormation(side.stack, await readViews(side)).state === 'formed' || 'not formed yet', { timeoutMs: 20_000, what: 'the table to call it formed' })
}

async function runToolkit(side: Side): Promise<{ outcome: Outcome; output: string }> {
  try {
    return { outcome: (await createCluster(side.stack, localRuntime, side.clients)).action, output: '' }
  } catch (error) {
    if (error instanceof CheckFailedError) return { outcome: 'refused', output: error.message }
    throw error
  }
}

/** Runs a command with only PATH and `env`; stdout and stderr together. */
function run(command: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

/** Runs the init container's script on the host against the side's nodes. */
async function runInitScript(side: Side): Promise<{ outcome: Outcome; output: string }> {
  const address = (nodes: readonly StackNode[]) => nodes.map((n) => `127.0.0.1:${n.port}:${n.busPort}`).join(' ')
  const { code, output } = await run('sh', [join(REPO_ROOT, 'compose/node/init-cluster.sh')], {
    REDIS_NODES: address(side.stack.nodes.filter((n) => !n.added)),
    REDIS_ADDED_NODES: address(side.stack.nodes.filter((n) => n.added)),
    REDIS_PASSWORD_SECRET: side.stack.secretFile,
    INIT_TIMEOUT_S: '30',
    TMPDIR: side.test.dir,
  })
  const said = (text: string) => code === 0 && output.includes(text)
  if (code === 1) return { outcome: 'refused', output }
  if (said('creating the cluster')) return { outcome: 'created', output }
  if (said('finishing a partially formed cluster')) return { outcome: 'completed', output }
  if (said('cluster already exists')) return { outcome: 'existing', output }
  throw new Error(`init-cluster.sh exited with ${code}: ${output}`)
}

describe('the formation acceptance table: createCluster and init-cluster.sh agree', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()))
  })

  async function startSide(foreign: StackNode | undefined, added = false): Promise<Side> {
    const test = await createTestStack()
    cleanups.push(() => test.cleanup())
    if (added) {
      const [port] = await allocatePorts(1)
      writeAddedNodes(test.load().dataDir, [{ name: 'redis-node-6', port: port!, busPort: port! + 10000, role: 'master' }])
    }
    const stack = test.load()
    await localRuntime.start(stack)
    // The harness's own reads must outlast a node busy with redis-cli's MIGRATEs on a loaded CI machine (seen: > 5 s).
    const clients = await connectAll(stack, stack.nodes, { commandTimeoutMs: 20_000 })
    cleanups.unshift(async () => clients.forEach((c) => c.disconnect()))
    return { test, stack, clients, foreign }
  }

  for (const c of CASES) {
    it(c.name, { timeout: 120_000 }, async () => {
      const other = c.foreign ? await startSide(undefined) : undefined
      // Sequential starts: allocatePorts checks ports are free, and two stacks allocated at once could pick the same.
      const toolkit = await startSide(other?.stack.nodes[0], c.added)
      const script = await startSide(other?.stack.nodes[1], c.added)
      await Promise.all([toolkit, script].map((side) => c.setup?.(side)))
      const before = await Promise.all([snapshot(toolkit), snapshot(script)])

      const [ts, sh] = await Promise.all([runToolkit(toolkit), runInitScript(script)])
      expect({ toolkit: ts.outcome, script: sh.outcome }).toEqual({ toolkit: c.outcome, script: c.outcome })

      if (c.outcome === 'refused') {
        expect(ts.output).toMatch(c.problem!)
        expect(sh.output).toMatch(c.problem!)
      }
      if (c.outcome === 'refused' || c.outcome === 'existing') {
        expect(await Promise.all([snapshot(toolkit), snapshot(script)])).toEqual(before)
      } else {
        await Promise.all([waitForFormed(toolkit), waitForFormed(script)])
      }
      if (c.layout) {
        expect(layoutOf(await readViews(toolkit))).toEqual(c.layout)
        expect(layoutOf(await readViews(script))).toEqual(c.layout)
      }
    })
  }
})
