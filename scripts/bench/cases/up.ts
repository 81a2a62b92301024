import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestStack, type TestStack } from '../../../packages/test-utils/src/index.ts'
import { isAborted, onCleanup } from '../measure.ts'
import { runOursCold, runOursWarm, runPnpmWarm, type BenchStack } from '../ours.ts'
import { runStandardUp } from '../standard.ts'
import type { BenchCase, Line, Medians } from '../types.ts'

/** Redis reports cluster_state:ok no sooner than ~2 s after a master starts (CLUSTER_WRITABLE_DELAY). */
const FLOOR_MS = 2000

async function throwawayStack(): Promise<TestStack & BenchStack> {
  const test = await createTestStack()
  onCleanup(async () => {
    if (isAborted()) await sleep(200) // a node spawned just before an abort writes its pidfile within milliseconds
    await test.cleanup()
  })
  return Object.assign(test, { stack: test.load() })
}

export const upCase: BenchCase = {
  name: 'up',
  summary: 'cold and warm `up` on the local runtime against six redis-server + `redis-cli --cluster create`',
  async prepare() {
    const ours = await throwawayStack()
    const standard = await throwawayStack()
    const workDir = (name: string) => join(standard.dir, name)
    return {
      variants: [
        { key: 'ours-cold', label: 'ours, cold', measure: () => runOursCold(ours) },
        { key: 'ours-warm', label: 'ours, warm', measure: () => runOursWarm(ours) },
        { key: 'pnpm-warm', label: 'pnpm run up, warm', optional: true, measure: () => runPnpmWarm(ours) },
        { key: 'std-ours', label: 'standard, our redis.conf', measure: () => runStandardUp(standard.stack, 'ours', workDir('std-ours')) },
        { key: 'std-defaults', label: 'standard, Redis defaults', measure: () => runStandardUp(standard.stack, 'defaults', workDir('std-defaults')) },
      ],
      lines: (m) => upLines(m),
    }
  },
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)}s`

function upLines(m: Medians): Line[] {
  const cold = m.ms('ours-cold')
  const warm = m.ms('ours-warm')
  const overhead = m.ms('pnpm-warm') - warm
  // Startup as seen in the cold runs: compose/up until its first redis-server starts, init/up outside its in-process work.
  const composeStartup = m.part('ours-cold', 'nodesStarted')
  const initStartup = m.part('ours-cold', 'initStartup')
  const std = (key: string) => `${s(m.ms(key))} (ping ${s(m.part(key, 'ping'))}, redis-cli ${s(m.part(key, 'create'))}, settle ${s(m.part(key, 'settle'))})`
  return [
    {
      name: 'up cold: ours / floor',
      value: cold / FLOOR_MS,
      unit: 'x',
      detail: `ours ${s(cold)} (compose/up ${s(m.part('ours-cold', 'composeUp'))}, init/up ${s(m.part('ours-cold', 'initUp'))} of which formCluster ${s(m.part('ours-cold', 'formCluster'))}) vs floor ${s(FLOOR_MS)}`,
      target: { max: 1.15 },
    },
    {
      name: 'up cold: ours from node start',
      value: m.part('ours-cold', 'nodesToHealthy') / FLOOR_MS,
      unit: 'x',
      detail: `first redis-server started ${s(m.part('ours-cold', 'nodesStarted'))} after our first process, healthy ${s(m.part('ours-cold', 'nodesToHealthy'))} later (floor ${s(FLOOR_MS)})`,
    },
    {
      name: 'up cold: ours, bench health seen',
      value: m.part('ours-cold', 'healthSeen') / 1000,
      unit: 's',
      detail: `the bench's own check (polled while init/up ran) first passed at ${s(m.part('ours-cold', 'healthSeen'))}; init/up exited ${s(cold - m.part('ours-cold', 'healthSeen'))} later`,
    },
    { name: 'up cold: ours / standard, same conf', value: cold / m.ms('std-ours'), unit: 'x', detail: `standard ${std('std-ours')}`, target: { max: 1, strict: true } },
    { name: 'up cold: ours / standard, defaults', value: cold / m.ms('std-defaults'), unit: 'x', detail: `standard ${std('std-defaults')}`, target: { max: 0.4 } },
    {
      name: 'up cold: script startup',
      value: (composeStartup + initStartup) / 1000,
      unit: 's',
      detail: `process start, imports, config: compose/up to its first redis-server ${s(composeStartup)} + init/up outside formCluster ${s(initStartup)}; included in ours above`,
    },
    { name: 'up warm: ours', value: warm / 1000, unit: 's', detail: `compose/up ${s(m.part('ours-warm', 'composeUp'))} + init/up ${s(m.part('ours-warm', 'initUp'))} (of which formCluster ${s(m.part('ours-warm', 'formCluster'))})`, target: { max: 0.3 } },
    {
      name: 'pnpm+turbo overhead',
      value: overhead / 1000,
      unit: 's',
      detail: m.failed('pnpm-warm')
        ? `not measured: ${m.failed('pnpm-warm')!.split('\n').slice(0, 3).join(' ').replace(/\s+/g, ' ')}`
        : `\`pnpm run up\` warm ${s(m.ms('pnpm-warm'))} minus ours warm ${s(warm)}; excluded from ours above`,
    },
  ]
}
