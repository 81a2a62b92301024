import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestStack, type TestStack } from '../../../packages/test-utils/src/index.ts'
import { isAborted, onCleanup } from '../measure.ts'
import { runOursCold, runOursWarm, runPnpmWarm, type BenchStack } from '../ours.ts'
import { runStandardUp } from '../standard.ts'
import { scaled, seconds } from '../report.ts'
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

function upLines(m: Medians): Line[] {
  const s = (key: string, part?: string) => seconds(m, key, part)
  const cold = m.ms('ours-cold')
  const warm = m.ms('ours-warm')
  const overhead = m.ms('pnpm-warm') - warm
  const std = (key: string) => `${s(key)} (ping ${s(key, 'ping')}, redis-cli ${s(key, 'create')}, settle ${s(key, 'settle')})`
  const plainSeconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`
  return [
    {
      name: 'up cold: ours / floor',
      value: cold / FLOOR_MS,
      range: scaled(m.range('ours-cold'), FLOOR_MS),
      unit: 'x',
      detail: `ours ${s('ours-cold')}, of which formCluster ${s('ours-cold', 'formCluster')}, vs floor ${plainSeconds(FLOOR_MS)}`,
      target: { max: 1.15 },
    },
    {
      name: 'up cold: ours from node start',
      value: m.part('ours-cold', 'nodesToHealthy') / FLOOR_MS,
      range: scaled(m.range('ours-cold', 'nodesToHealthy'), FLOOR_MS),
      unit: 'x',
      detail: `first redis-server started ${s('ours-cold', 'nodesStarted')} after our process, healthy ${s('ours-cold', 'nodesToHealthy')} later (floor ${plainSeconds(FLOOR_MS)})`,
    },
    {
      name: 'up cold: ours, bench health seen',
      value: m.part('ours-cold', 'healthSeen') / 1000,
      range: scaled(m.range('ours-cold', 'healthSeen'), 1000),
      unit: 's',
      detail: `the bench's own check (polled while up ran) first passed at ${s('ours-cold', 'healthSeen')}; up exited ${plainSeconds(cold - m.part('ours-cold', 'healthSeen'))} later`,
    },
    { name: 'up cold: ours / standard, same conf', value: cold / m.ms('std-ours'), range: m.ratioRange('ours-cold', 'std-ours'), unit: 'x', detail: `standard ${std('std-ours')}`, target: { max: 1, strict: true } },
    { name: 'up cold: ours / standard, defaults', value: cold / m.ms('std-defaults'), range: m.ratioRange('ours-cold', 'std-defaults'), unit: 'x', detail: `standard ${std('std-defaults')}`, target: { max: 0.4 } },
    {
      name: 'up cold: script startup',
      value: m.part('ours-cold', 'nodesStarted') / 1000,
      range: scaled(m.range('ours-cold', 'nodesStarted'), 1000),
      unit: 's',
      detail: `process start, imports, config, preflight: from spawn to the first redis-server; included in ours above`,
    },
    { name: 'up warm: ours', value: warm / 1000, range: scaled(m.range('ours-warm'), 1000), unit: 's', detail: `of which formCluster ${s('ours-warm', 'formCluster')}, before it ${s('ours-warm', 'beforeForm')}`, target: { max: 0.3 } },
    {
      name: 'pnpm overhead',
      value: overhead / 1000,
      unit: 's',
      detail: m.failed('pnpm-warm')
        ? `not measured: ${m.failed('pnpm-warm')!.split('\n').slice(0, 3).join(' ').replace(/\s+/g, ' ')}`
        : `\`pnpm run up\` warm ${s('pnpm-warm')} minus ours warm ${s('ours-warm')}; excluded from ours above`,
    },
  ]
}
