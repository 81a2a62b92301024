import { join } from 'node:path'
import { collectReport } from '../../../packages/monitor/src/index.ts'
import { createExternalCluster, REPO_ROOT, type ExternalNodes } from '../../../packages/test-utils/src/index.ts'
import { assertOk, onCleanup, runChild } from '../measure.ts'
import { scaled, seconds } from '../report.ts'
import type { BenchCase, Line, Medians, Sample, Variant } from '../types.ts'

const STATUS = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'monitor', 'status'] as const
const REPORT = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'monitor', 'report'] as const
/** Clusters of 3, 6 and 12 masters with a replica each, each node on its own 127.0.0.x ("host"): 6, 12 and 24 nodes. */
const SIZES = [
  { masters: 3, firstHost: 150 },
  { masters: 6, firstHost: 160 },
  { masters: 12, firstHost: 180 },
] as const

export const externalCase: BenchCase = {
  name: 'external',
  summary: '`pnpm status` and `pnpm report --json` on external clusters (RC_RUNTIME=external, one node per 127.0.0.x) of 6, 12 and 24 nodes against `redis-cli --cluster call <seed> INFO`; how each grows with the node count',
  async prepare() {
    const clusters: ExternalNodes[] = []
    for (const { masters, firstHost } of SIZES) {
      const cluster = await createExternalCluster({ masters, replicas: 1, firstHost })
      onCleanup(() => cluster.cleanup())
      clusters.push(cluster)
    }
    const variants: Variant[] = clusters.flatMap((cluster): Variant[] => {
      const n = cluster.addresses.length
      // redis-cli reads the password from REDISCLI_AUTH, never from argv
      const env = { ...process.env, ...cluster.env, REDISCLI_AUTH: cluster.password }
      const child = async (what: string, command: string, args: readonly string[]) => ({ ms: assertOk(what, await runChild(command, args, { cwd: REPO_ROOT, env })).ms, parts: {} })
      const seed = `${cluster.addresses[0]!.host}:${cluster.port}`
      return [
        { key: `status${n}`, label: `status, ${n} nodes`, measure: () => child('status', process.execPath, [...STATUS, '--json']) },
        { key: `report${n}`, label: `report --json, ${n} nodes`, measure: () => child('report', process.execPath, [...REPORT, '--json']) },
        {
          key: `read${n}`,
          label: `discover + read, ${n} nodes`,
          // in process: the seed round trip, then every node connected and read at once; no process start
          measure: async (): Promise<Sample> => {
            const started = performance.now()
            const report = await collectReport(await cluster.load())
            if (!report.complete || report.totals.nodes !== n) throw new Error(`report: ${report.totals.nodesUp}/${report.totals.nodes} of ${n} nodes`)
            return { ms: performance.now() - started, parts: {} }
          },
        },
        { key: `call${n}`, label: `--cluster call INFO, ${n}`, measure: () => child('--cluster call INFO', 'redis-cli', ['--cluster', 'call', seed, 'INFO']) },
      ]
    })
    // what any node process costs on this machine now: under load it dominates the whole command
    variants.push({ key: 'node', label: 'bare node start (node -e 0)', measure: async () => ({ ms: assertOk('node -e 0', await runChild(process.execPath, ['-e', '0'], { cwd: REPO_ROOT, env: process.env })).ms, parts: {} }) })
    // bundles built, untimed
    assertOk('status --help', await runChild(process.execPath, [...STATUS, '--help'], { cwd: REPO_ROOT, env: process.env }))
    assertOk('report --help', await runChild(process.execPath, [...REPORT, '--help'], { cwd: REPO_ROOT, env: process.env }))
    return { variants, lines: externalLines }
  },
}

function externalLines(m: Medians): Line[] {
  const s = (key: string) => seconds(m, key)
  const ratio = (name: string, a: string, b: string, detail: string, target?: Line['target']): Line => ({ name, value: m.ms(a) / m.ms(b), range: m.ratioRange(a, b), unit: 'x', detail, ...(target ? { target } : {}) })
  // Parallel, one round trip per node: 24 nodes may cost a little more than 6 (more sockets, more output), never 4x.
  const flat = { max: 1.5 }
  return [
    ratio('external: status / --cluster call INFO (12 nodes)', 'status12', 'call12', `whole command ${s('status12')} vs ${s('call12')}`),
    ratio('external: report / --cluster call INFO (12 nodes)', 'report12', 'call12', `whole command ${s('report12')} vs ${s('call12')}`),
    { name: 'external: status (12 nodes)', value: m.ms('status12') / 1000, range: scaled(m.range('status12'), 1000), unit: 's', detail: 'process start to exit: the seeds read (CLUSTER SHARDS + NODES), then 12 nodes at once' },
    { name: 'external: report --json (12 nodes)', value: m.ms('report12') / 1000, range: scaled(m.range('report12'), 1000), unit: 's', detail: 'process start to exit: the seeds, then 12 nodes at once (DBSIZE + INFO + CLUSTER NODES/INFO)' },
    { name: 'external: report beyond node start (12 nodes)', value: (m.ms('report12') - m.ms('node')) / 1000, unit: 's', detail: `report ${s('report12')} minus a bare \`node -e 0\` ${s('node')}: bundle load, config, discovery, 12 connections, the read, output` },
    ratio('external: status 24 / 6 nodes', 'status24', 'status6', `${s('status6')} -> ${s('status12')} -> ${s('status24')}`, flat),
    ratio('external: report 24 / 6 nodes', 'report24', 'report6', `${s('report6')} -> ${s('report12')} -> ${s('report24')}`, flat),
    ratio('external: discover + read 24 / 6 nodes', 'read24', 'read6', `in process, no node start: ${s('read6')} -> ${s('read12')} -> ${s('read24')}`, flat),
    ratio('external: --cluster call INFO 24 / 6 nodes', 'call24', 'call6', `the standard tool, one node after another: ${s('call6')} -> ${s('call12')} -> ${s('call24')}`),
  ]
}
