import { join } from 'node:path'
import { readNodes, answered, waitForHealthy, type Stack } from '../../../packages/core/src/index.ts'
import { reshard } from '../../../packages/init/src/index.ts'
import { REPO_ROOT } from '../../../packages/test-utils/src/index.ts'
import { assertOk, runChild } from '../measure.ts'
import { loadedStack } from './backup.ts'
import { scaled, seconds } from '../report.ts'
import type { BenchCase, Line, Medians, Sample } from '../types.ts'

/** The backup case's ~1M small keys: a third of one master's slots (1820) then holds ~111k keys, the size. */
const SLOTS = 1820
const RESHARD = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'init', 'cluster-reshard'] as const

export const reshardCase: BenchCase = {
  name: 'reshard',
  summary: `\`pnpm cluster:reshard\` of ${SLOTS} slots (~111k keys) against \`redis-cli --cluster reshard\` with its default pipeline (10) and with 1000`,
  defaultRuns: 3,
  async prepare() {
    const { test, stack, clients, env } = await loadedStack(300_000)
    assertOk('cluster-reshard --help', await runChild(process.execPath, [...RESHARD, '--help'], { cwd: REPO_ROOT, env })) // bundle built, untimed
    const [from, to] = [stack.nodes[0]!, stack.nodes[1]!]
    // every variant moves SLOTS slots from node 0 to node 1; then (untimed) they go back and the replicas catch up
    const restore = async () => {
      await waitForHealthy(stack, clients) // each variant starts on a settled cluster
      await reshard(stack, { from: to.name, to: from.name, slots: `${SLOTS}` })
      await waitForHealthy(stack, clients)
    }
    const ours = async (): Promise<Sample> => {
      const run = assertOk('cluster:reshard', await runChild(process.execPath, [...RESHARD, '--json', '--from', from.name, '--to', to.name, '--slots', `${SLOTS}`], { cwd: REPO_ROOT, env }))
      const result = JSON.parse(run.stdout)
      if (result.slots !== SLOTS) throw new Error(`ours moved ${result.slots} slots`)
      await restore()
      return { ms: run.ms, parts: { inProcess: result.elapsedMs, migrate: result.migrateMs, keys: result.keys } }
    }
    const redisCli = (pipeline: number | undefined) => async (): Promise<Sample> => {
      const ids = await nodeIds(stack)
      const args = ['--user', stack.user, '--cluster', 'reshard', `${from.host}:${from.port}`, '--cluster-from', ids.get(from.name)!, '--cluster-to', ids.get(to.name)!, '--cluster-slots', `${SLOTS}`, '--cluster-yes']
      const run = assertOk('redis-cli --cluster reshard', await runChild('redis-cli', [...args, ...(pipeline ? ['--cluster-pipeline', `${pipeline}`] : [])], { cwd: REPO_ROOT, env: { ...env, REDISCLI_AUTH: test.password } }))
      await restore()
      return { ms: run.ms, parts: {} }
    }
    return {
      variants: [
        { key: 'ours', label: 'ours (cluster:reshard)', measure: ours },
        { key: 'cli10', label: 'redis-cli pipeline 10', measure: redisCli(undefined) },
        { key: 'cli1000', label: 'redis-cli pipeline 1000', measure: redisCli(1000) },
      ],
      lines: reshardLines,
    }
  },
}

async function nodeIds(stack: Stack): Promise<Map<string, string>> {
  return new Map((await readNodes(stack)).filter(answered).map((a) => [a.node.name, a.id]))
}

function reshardLines(m: Medians): Line[] {
  const s = (key: string, part?: string) => seconds(m, key, part)
  const detail = `ours ${s('ours')} (in process ${s('ours', 'inProcess')}, of which waiting for MIGRATE ${s('ours', 'migrate')}, ~${Math.round(m.part('ours', 'keys'))} keys), redis-cli pipeline 10 ${s('cli10')}, pipeline 1000 ${s('cli1000')}`
  return [
    { name: 'reshard: ours / redis-cli pipeline 10', value: m.ms('ours') / m.ms('cli10'), range: m.ratioRange('ours', 'cli10'), unit: 'x', detail, target: { max: 0.33 } },
    { name: 'reshard: ours / redis-cli pipeline 1000', value: m.ms('ours') / m.ms('cli1000'), range: m.ratioRange('ours', 'cli1000'), unit: 'x', detail: 'same runs', target: { max: 1.0 } },
    { name: 'reshard: ours', value: m.ms('ours') / 1000, range: scaled(m.range('ours'), 1000), unit: 's', detail: `${SLOTS} slots from spawn to exit (health read, plan, move, SETSLOT on every master)` },
  ]
}
