import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { localRuntime } from '../../../packages/compose/src/index.ts'
import { assessHealth, readNodes, runRedisCli, type Stack } from '../../../packages/core/src/index.ts'
import { restoreLayout } from '../../../packages/init/src/index.ts'
import { createTestStack, REPO_ROOT } from '../../../packages/test-utils/src/index.ts'
import { assertOk, onCleanup, runChild } from '../measure.ts'
import { scaled, seconds } from '../report.ts'
import type { BenchCase, Line, Medians, Sample } from '../types.ts'

/** 2000 is conf/redis.conf's node timeout (our default), 1000 the shortest the drills are tested with. */
const NODE_TIMEOUTS = [1000, 2000] as const
const CHAOS = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'chaos', 'chaos'] as const
/** The writer must put real load on the cluster while it fails over: ≥ 5k acknowledged writes/s. */
const MIN_WRITES_PER_S = 5000

export const failoverCase: BenchCase = {
  name: 'failover',
  summary: '`pnpm chaos kill-master` at node timeout 1000 and 2000: writable again vs real promotion vs redis-cli polling after the same kill',
  defaultRuns: 3,
  async prepare() {
    const variants = await Promise.all(
      NODE_TIMEOUTS.map(async (timeout) => {
        const test = await createTestStack({ env: { REDIS_CLUSTER_NODE_TIMEOUT: `${timeout}`, RC_TIMEOUT_MS: '60000' } })
        onCleanup(() => test.cleanup())
        const env = { ...process.env, ...test.env }
        assertOk('init up', await runChild(process.execPath, [join(REPO_ROOT, 'scripts', 'run.mjs'), 'init', 'up'], { cwd: REPO_ROOT, env }))
        return [
          { key: `ours-${timeout}`, label: `ours, node timeout ${timeout}`, measure: () => ours(env) },
          { key: `plain-${timeout}`, label: `kill -9 + redis-cli, ${timeout}`, measure: () => plain(test.load()) },
        ]
      }),
    )
    return { variants: variants.flat(), lines: failoverLines }
  },
}

/** Our drill, as users run it; its report holds the real promotion (10 ms ROLE polls) and the writer's view. */
async function ours(env: NodeJS.ProcessEnv): Promise<Sample> {
  const run = await runChild(process.execPath, [...CHAOS, 'kill-master', '--json'], { cwd: REPO_ROOT, env })
  if (run.exitCode > 1) assertOk('chaos kill-master', run)
  const [drill] = JSON.parse(run.stdout).drills
  return { ms: drill.writableAfterMs, parts: { promoted: drill.failoverAfterMs, lag: Math.abs(drill.writableAfterMs - drill.failoverAfterMs), msPer1kWrites: 1e6 / drill.throughput.before, wall: run.ms } }
}

/** The same fault by hand: SIGKILL the master, then `redis-cli SET` on its replica every ~5 ms until it answers OK. */
async function plain(stack: Stack): Promise<Sample> {
  const [master, replica] = [stack.nodes[0]!, stack.nodes[3]!]
  const key = 'failover' // slot 3739: in redis-node-0's range
  const pid = (await localRuntime.ps(stack))[0]!.pid!
  const killed = performance.now()
  process.kill(pid, 'SIGKILL')
  let polls = 0
  for (;;) {
    polls++
    const reply = await runRedisCli(stack, ['-h', replica.host, '-p', `${replica.port}`, 'SET', key, 'x']).catch((error: Error) => error.message)
    if (reply.trim() === 'OK') break
    if (performance.now() - killed > 30_000) throw new Error(`${replica.name} did not take over within 30 s: ${reply}`)
    await sleep(5)
  }
  const ms = performance.now() - killed
  // Untimed: put the stack back as the drill does (restart, healthy, spec layout).
  await localRuntime.start(stack)
  for (let i = 0; !assessHealth(stack, await readNodes(stack)).healthy; i++) {
    if (i > 600) throw new Error(`${master.name} did not rejoin healthy`)
    await sleep(50)
  }
  await restoreLayout(stack)
  return { ms, parts: { polls } }
}

function failoverLines(m: Medians): Line[] {
  return NODE_TIMEOUTS.flatMap((timeout): Line[] => {
    const [o, p] = [`ours-${timeout}`, `plain-${timeout}`]
    const s = (key: string, part?: string) => seconds(m, key, part)
    return [
      {
        name: `failover ${timeout}: writable again after kill`,
        value: m.ms(o) / 1000,
        range: scaled(m.range(o), 1000),
        unit: 's',
        detail: `ours ${s(o)}; real promotion ${s(o, 'promoted')}; redis-cli polling ${s(p)}; target node timeout + 1 s`,
        target: { max: timeout / 1000 + 1 },
      },
      { name: `failover ${timeout}: ours / redis-cli polling`, value: m.ms(o) / m.ms(p), range: m.ratioRange(o, p), unit: 'x', detail: 'different kills: the election adds a random 0.5-1 s' },
      { name: `failover ${timeout}: writer lag behind promotion`, value: m.part(o, 'lag') / 1000, range: scaled(m.range(o, 'lag'), 1000), unit: 's', detail: 'writable again (writer) minus ROLE=master (10 ms polls), same drill', target: { max: 0.05 } },
      {
        name: `failover ${timeout}: writer, s per 1000 acknowledged writes`,
        value: m.part(o, 'msPer1kWrites') / 1000,
        range: scaled(m.range(o, 'msPer1kWrites'), 1000),
        unit: 's',
        detail: `before the fault, no --wait-replicas: ${Math.round(1e6 / m.part(o, 'msPer1kWrites'))} writes/s (target ≥ ${MIN_WRITES_PER_S}); drill wall ${s(o, 'wall')}`,
        target: { max: 1000 / MIN_WRITES_PER_S },
      },
    ]
  })
}
