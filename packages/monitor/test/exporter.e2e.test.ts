// The monitoring stack on the real binaries: Debian's prometheus-redis-exporter
// (started by compose/node/start-exporter.sh, as in the container) and prometheus,
// on 127.0.0.1 and own ports, against a throwaway local cluster; then, where a
// Docker engine runs, the compose profile's exporter container against a compose stack.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connectNode, userSecretFile, type Stack } from '@redis-cluster/core'
import { localRuntime, runCompose } from '@redis-cluster/compose'
import { allocatePorts, composeUnavailable, createComposeTestStack, createTestStack, docker, runCli, type ComposeTestStack, type TestStack } from '@redis-cluster/test-utils'
import {
  PROMETHEUS_DIR, START_EXPORTER, dashboardQueries, exporterMetricNames, getText, metricNamesIn, poll, prometheusApi, readYaml, requireBinary,
  scrapedNames, startChild, type Child,
} from './_monitoring.ts'

const EXPORTER_IMAGE = process.env.REDIS_EXPORTER_IMAGE || 'redis-cluster-toolkit/redis-exporter:local'
const rulesFile = join(PROMETHEUS_DIR, 'redis-alerts.yml')
const alertNames = (): string[] => readYaml(rulesFile).groups.flatMap((g: any) => g.rules.map((r: any) => r.alert))
// The exporter's log lines that say a scrape went wrong (a command its user may not run is NOPERM).
// redis_exporter 1.45 logs "Loaded N entries from <password file>" at level=error: not a failure.
const exporterErrors = (log: string): string[] => log.split('\n').filter((l) => /NOPERM|WRONGPASS|NOAUTH|level=error/.test(l) && !/Loaded \d+ entries from/.test(l))
/** What any node refused the exporter user (ACL LOG: a denied command or a failed AUTH), read as admin. */
async function deniedToExporter(stack: Stack): Promise<string[]> {
  const denied: string[] = []
  for (const node of stack.nodes) {
    const client = await connectNode(stack, node)
    try {
      const entries = (await client.call('ACL', 'LOG')) as unknown[][]
      for (const entry of entries) {
        const fields = Object.fromEntries(Array.from({ length: entry.length / 2 }, (_, i) => [entry[2 * i], entry[2 * i + 1]]))
        if (fields.username === 'exporter') denied.push(`${node.name}: ${fields.reason} ${fields.object}`)
      }
    } finally {
      client.disconnect()
    }
  }
  return denied
}

describe('monitoring on the real exporter and Prometheus (local runtime)', () => {
  let test: TestStack
  let exporter: Child | undefined
  let prometheus: Child | undefined
  let exporterUrl: string
  let prometheusUrl: string
  const scrape = (port: number) => getText(`${exporterUrl}/scrape?target=redis://127.0.0.1:${port}`)
  const query = async (expr: string) => (await prometheusApi(prometheusUrl, `query?query=${encodeURIComponent(expr)}`)).result as any[]

  beforeAll(async () => {
    requireBinary('prometheus-redis-exporter')
    requireBinary('prometheus')
    test = await createTestStack()
    const up = await runCli('init/up', ['--json'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
    const [exporterPort, prometheusPort] = await allocatePorts(2)
    exporterUrl = `http://127.0.0.1:${exporterPort}`
    prometheusUrl = `http://127.0.0.1:${prometheusPort}`

    exporter = startChild('sh', [START_EXPORTER], {
      REDIS_EXPORTER_SECRET: userSecretFile(test.env.RC_SECRETS_DIR!, 'exporter'),
      REDIS_EXPORTER_PASSWORD_MAP: join(test.dir, 'exporter-passwords.json'),
      REDIS_NODES: test.ports.map((p) => `127.0.0.1:${p}`).join(' '),
      REDIS_EXPORTER_BIN: 'prometheus-redis-exporter',
      REDIS_EXPORTER_LISTEN_HOST: '127.0.0.1',
      REDIS_EXPORTER_PORT: `${exporterPort}`,
    })
    await poll('the exporter answering', () => getText(`${exporterUrl}/metrics`), 30_000, exporter)

    // Our scrape config and rules, adapted: local addresses, 1 s intervals, and
    // `for:` cut to 2 s (the promtool unit tests cover the real durations).
    const config = readYaml(join(PROMETHEUS_DIR, 'prometheus.yml'))
    config.global = { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' }
    const job = config.scrape_configs.find((j: any) => j.job_name === 'redis')
    job.relabel_configs.find((r: any) => r.target_label === '__address__').replacement = `127.0.0.1:${exporterPort}`
    config.scrape_configs.find((j: any) => j.job_name === 'redis_exporter').static_configs = [{ targets: [`127.0.0.1:${exporterPort}`] }]
    const dir = join(test.dir, 'prometheus')
    mkdirSync(join(dir, 'targets'), { recursive: true })
    const targets = readYaml(join(PROMETHEUS_DIR, 'targets', 'redis-nodes.yml'))
    targets.forEach((c: any, i: number) => (c.targets = [`redis://127.0.0.1:${test.ports[i]}`]))
    writeFileSync(join(dir, 'targets', 'redis-nodes.yml'), stringify(targets))
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config))
    writeFileSync(join(dir, 'redis-alerts.yml'), readFileSync(rulesFile, 'utf8').replace(/^(\s+for:) \S+$/gm, '$1 2s'))
    prometheus = startChild('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
    ])
    await poll('Prometheus ready', () => getText(`${prometheusUrl}/-/ready`), 60_000, prometheus)
  }, 180_000)

  afterAll(async () => {
    await prometheus?.stop()
    await exporter?.stop()
    await test?.cleanup()
  })

  it('the exporter answers for all six nodes as the exporter user, with the password map it wrote from its secret', async () => {
    const stack = test.load()
    const names = new Set<string>()
    for (const [i, node] of stack.nodes.entries()) {
      const text = await scrape(test.ports[i]!)
      expect(text, node.name).toMatch(/^redis_up 1$/m)
      expect(text, node.name).toMatch(new RegExp(`^redis_instance_info\\{.*role="${node.role === 'master' ? 'master' : 'slave'}"`, 'm'))
      scrapedNames(text).forEach((n) => names.add(n))
    }
    // its user's rules (core's users.ts) allow every command it sends
    expect(exporterErrors(exporter!.output())).toEqual([])
    expect(await deniedToExporter(stack)).toEqual([])
    // the checked-in list the Grafana and rule tests rely on is what this exporter really emits
    expect([...exporterMetricNames()].filter((n) => !names.has(n))).toEqual([])
    // a target the map has no password for is refused by Redis: redis_up 0, which RedisNodeDown reports
    const unknown = await getText(`${exporterUrl}/scrape?target=redis://localhost:${test.ports[0]}`)
    expect(unknown).toMatch(/^redis_up 0$/m)
    expect(unknown).toMatch(/^redis_exporter_last_scrape_error\{err=".*(NOAUTH|WRONGPASS).*"\} 1$/m)
    // /metrics carries no Redis data (empty --redis.addr): only /scrape?target= does
    expect(await getText(`${exporterUrl}/metrics`)).not.toMatch(/^redis_up /m)
    // the password is in the 0600 map only: not in the exporter's argv or environment
    const map = join(test.dir, 'exporter-passwords.json')
    expect(statSync(map).mode & 0o777).toBe(0o600)
    expect(Object.keys(JSON.parse(readFileSync(map, 'utf8')))).toEqual(test.ports.map((p) => `redis://127.0.0.1:${p}`))
    const pid = exporter!.process.pid!
    for (const file of ['cmdline', 'environ']) expect(readFileSync(`/proc/${pid}/${file}`, 'utf8')).not.toContain(stack.users!.exporter[0]!)
  })

  it('Prometheus scrapes the six nodes through the exporter and loads every alert rule', async () => {
    const up = await poll('six redis_up series', async () => {
      const result = await query('redis_up{job="redis"}')
      return result.length === 6 ? result : undefined
    }, 30_000, prometheus)
    expect(up.map((r) => [r.metric.node, r.value[1]]).sort()).toEqual(test.load().nodes.map((n) => [n.name, '1']))
    const rules = (await prometheusApi(prometheusUrl, 'rules')).groups.flatMap((g: any) => g.rules)
    expect(rules.map((r: any) => r.name).sort()).toEqual(alertNames().sort())
    expect(rules.filter((r: any) => r.health !== 'ok')).toEqual([])
  })

  it('every dashboard query runs; all but the backup and maxmemory ones return data', async () => {
    for (const { panel, expr } of dashboardQueries()) {
      const runnable = expr.replaceAll('$__rate_interval', '10s')
      const optional = /redis_cluster_backup_|redis_memory_max_bytes\{[^}]*\} > 0/.test(expr)
      const result = await poll(`data for "${panel}"`, async () => {
        const r = await query(runnable)
        return r.length > 0 || optional ? r : undefined
      }, 30_000)
      expect(Array.isArray(result), panel).toBe(true)
    }
  })

  it('pnpm backup --textfile writes the backup metrics the rules and dashboard use', async () => {
    const dir = join(test.dir, 'textfile')
    mkdirSync(dir)
    const backup = await runCli('backup/backup', ['--quiet', '--textfile', dir], test.env)
    expect(backup.exitCode, backup.stderr).toBe(0)
    const written = new Set(scrapedNames(readFileSync(join(dir, 'redis_cluster_backup.prom'), 'utf8')))
    const rules = readYaml(rulesFile).groups.flatMap((g: any) => g.rules.map((r: any) => r.expr as string))
    const used = [...rules, ...dashboardQueries().map((q) => q.expr)].flatMap(metricNamesIn).filter((m) => m.startsWith('redis_cluster_backup_'))
    expect(used.length).toBeGreaterThan(0)
    expect(used.filter((m) => !written.has(m))).toEqual([])
  })

  it('killing a replica fires RedisNodeDown for it (and RedisMasterWithoutReplica for its master) via /api/v1/alerts', async () => {
    const stack = test.load()
    const victim = stack.nodes[5]!
    const master = stack.nodes[victim.masterIndex!]!
    const [state] = (await localRuntime.ps(stack)).filter((n) => n.node === victim.name)
    process.kill(state!.pid!, 'SIGKILL')
    const firing = async () => ((await prometheusApi(prometheusUrl, 'alerts')).alerts as any[]).filter((a) => a.state === 'firing')
    const alerts = await poll('RedisNodeDown and RedisMasterWithoutReplica firing', async () => {
      const now = await firing()
      const has = (name: string, node: string) => now.some((a) => a.labels.alertname === name && a.labels.node === node)
      return has('RedisNodeDown', victim.name) && has('RedisMasterWithoutReplica', master.name) ? now : undefined
    }, 60_000, prometheus)
    expect(alerts.filter((a) => a.labels.alertname === 'RedisNodeDown').map((a) => a.labels.node)).toEqual([victim.name])
    expect(alerts.find((a) => a.labels.alertname === 'RedisNodeDown').annotations.summary).toMatch(new RegExp(`^${victim.name} \\(redis://127.0.0.1:${victim.port}\\) is down`))
  }, 90_000)
})

const composeSkip = composeUnavailable() ?? (docker(['image', 'inspect', EXPORTER_IMAGE]).code === 0 ? undefined : `image ${EXPORTER_IMAGE} is missing: run scripts/build-exporter-image.sh`)

describe.skipIf(composeSkip !== undefined)(`the compose monitoring profile's exporter${composeSkip ? ` (skipped: ${composeSkip})` : ''}`, () => {
  let test: ComposeTestStack

  beforeAll(async () => {
    test = await createComposeTestStack()
    const up = await runCli('init/up', ['--json'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
  }, 240_000)
  afterAll(() => test?.cleanup(), 120_000)

  it('scrapes all six node containers as the exporter user, denied nothing, with no password in argv or env (docker inspect)', async () => {
    const [hostPort] = await allocatePorts(1)
    const stack = test.load({ REDIS_EXPORTER_IMAGE: EXPORTER_IMAGE, REDIS_EXPORTER_HOST_PORT: `${hostPort}` })
    await runCompose(stack, ['--profile', 'monitoring', 'up', '-d', '--no-deps', 'redis-exporter'])
    const url = `http://127.0.0.1:${hostPort}`
    for (const node of stack.nodes) {
      const text = await poll(`the exporter scraping ${node.name}`, () => getText(`${url}/scrape?target=redis://${node.clusterIp}:${node.port}`), 60_000)
      expect(text, node.name).toMatch(/^redis_up 1$/m)
      expect(text, node.name).toMatch(/^redis_cluster_state 1$/m)
    }
    const [id] = docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${test.project}`, '--filter', 'label=com.docker.compose.service=redis-exporter']).stdout.split('\n')
    expect(id).toBeTruthy()
    // `default` is off and the container holds only the exporter's password: redis_up 1 means it logged in as `exporter`; no node refused it anything
    const logs = docker(['logs', id!])
    expect(exporterErrors(logs.stdout + logs.stderr)).toEqual([])
    expect(await deniedToExporter(stack)).toEqual([])
    expect(docker(['exec', id!, 'ls', '/run/secrets']).stdout.split(/\s+/).filter(Boolean)).toEqual(['user_exporter'])
    const inspect = docker(['inspect', id!])
    expect(inspect.code).toBe(0)
    const top = docker(['top', id!]).stdout
    for (const password of Object.values(stack.users!).flat()) {
      expect(inspect.stdout).not.toContain(password)
      expect(top).not.toContain(password)
    }
    expect(inspect.stdout).toContain('REDIS_USER=exporter')
    // the map lives on the container's tmpfs, readable by the exporter's user alone
    expect(docker(['exec', id!, 'ls', '-ln', '/tmp/redis-exporter-passwords.json']).stdout).toMatch(/^-rw------- +1 999 999 /)
  }, 120_000)
})
