import { join } from 'node:path'
import { collectReport } from '../../../packages/monitor/src/index.ts'
import { REPO_ROOT } from '../../../packages/test-utils/src/index.ts'
import { assertOk, runChild } from '../measure.ts'
import { scaled, seconds } from '../report.ts'
import { loadedStack } from './backup.ts'
import type { BenchCase, Line, Medians, Sample } from '../types.ts'

const KEYS = 30_000
const REPORT = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'monitor', 'report'] as const
/** The spec's per-node loop: `dbsize` and `info memory` on each node, one redis-cli per command. */
const LOOP = 'for p in "$@"; do redis-cli --user admin -p "$p" dbsize && redis-cli --user admin -p "$p" info memory; done >/dev/null'

export const reportCase: BenchCase = {
  name: 'report',
  summary: '`pnpm report --json` on six nodes against the spec\'s redis-cli loop (dbsize + info memory per node) and `redis-cli --cluster call` of the same two commands',
  async prepare() {
    const { test, stack, clients } = await loadedStack(60_000, KEYS)
    // redis-cli reads the password from REDISCLI_AUTH, never from argv
    const env = { ...process.env, ...test.env, REDISCLI_AUTH: test.password }
    const child = async (what: string, command: string, args: readonly string[]) => assertOk(what, await runChild(command, args, { cwd: REPO_ROOT, env })).ms
    await child('report --help', process.execPath, [...REPORT, '--help']) // bundle built, untimed
    const seed = `127.0.0.1:${stack.nodes[0]!.port}`
    const ports = stack.nodes.map((n) => `${n.port}`)
    return {
      variants: [
        { key: 'ours', label: 'ours (pnpm report --json)', measure: async (): Promise<Sample> => ({ ms: await child('report', process.execPath, [...REPORT, '--json']), parts: {} }) },
        {
          key: 'collect',
          label: 'ours, connections open',
          measure: async (): Promise<Sample> => {
            const started = performance.now()
            const report = await collectReport(stack, clients)
            if (!report.complete || report.totals.keys !== KEYS) throw new Error(`report: ${report.totals.nodesUp}/6 nodes, ${report.totals.keys} keys`)
            return { ms: performance.now() - started, parts: {} }
          },
        },
        // what any node process costs on this machine now: under load it dominates the whole command
        { key: 'node', label: 'bare node start (node -e 0)', measure: async (): Promise<Sample> => ({ ms: await child('node -e 0', process.execPath, ['-e', '0']), parts: {} }) },
        { key: 'loop', label: 'redis-cli loop', measure: async (): Promise<Sample> => ({ ms: await child('redis-cli loop', 'sh', ['-c', LOOP, 'sh', ...ports]), parts: {} }) },
        {
          key: 'call',
          label: 'redis-cli --cluster call',
          measure: async (): Promise<Sample> => {
            const dbsize = await child('--cluster call dbsize', 'redis-cli', ['--user', stack.user, '--cluster', 'call', seed, 'dbsize'])
            const memory = await child('--cluster call info memory', 'redis-cli', ['--user', stack.user, '--cluster', 'call', seed, 'info', 'memory'])
            return { ms: dbsize + memory, parts: { dbsize, memory } }
          },
        },
      ],
      lines: reportLines,
    }
  },
}

/** Writes KEYS small keys through a cluster client (untimed). */
function reportLines(m: Medians): Line[] {
  const s = (key: string) => seconds(m, key)
  return [
    {
      name: 'report: collect / --cluster call',
      value: m.ms('collect') / m.ms('call'),
      range: m.ratioRange('collect', 'call'),
      unit: 'x',
      detail: `all fields of six nodes, connections open ${s('collect')}; --cluster call dbsize + info memory ${s('call')}`,
      target: { max: 0.2 },
    },
    { name: 'report: ours / --cluster call', value: m.ms('ours') / m.ms('call'), range: m.ratioRange('ours', 'call'), unit: 'x', detail: `whole command ${s('ours')} vs ${s('call')} (two redis-cli processes)` },
    { name: 'report: ours / redis-cli loop', value: m.ms('ours') / m.ms('loop'), range: m.ratioRange('ours', 'loop'), unit: 'x', detail: `whole command ${s('ours')} vs the spec's loop ${s('loop')} (12 redis-cli processes)` },
    { name: 'report: ours beyond node start', value: (m.ms('ours') - m.ms('node')) / 1000, unit: 's', detail: `ours ${s('ours')} minus a bare \`node -e 0\` ${s('node')}: bundle load, config, six connections, the read, output` },
    { name: 'report: ours', value: m.ms('ours') / 1000, range: scaled(m.range('ours'), 1000), unit: 's', detail: 'process start to exit (pnpm\'s own start excluded), six nodes, connect + AUTH + one pipelined read each', target: { max: 0.5, strict: true } },
  ]
}
