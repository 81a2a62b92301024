import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadStack } from '@redis-cluster/core'
import { REPO_ROOT } from '@redis-cluster/test-utils'
import { PROMETHEUS_DIR, START_EXPORTER, exporterMetricNames, metricNamesIn, readYaml, requireBinary } from './_monitoring.ts'

const RULES = join(PROMETHEUS_DIR, 'redis-alerts.yml')
const RULE_TESTS = join(PROMETHEUS_DIR, 'redis-alerts.test.yml')
const CONFIG = join(PROMETHEUS_DIR, 'prometheus.yml')
const alerts = (): { alert: string; expr: string }[] => readYaml(RULES).groups.flatMap((g: any) => g.rules)

const promtool = (args: string[]) => {
  requireBinary('promtool')
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, output: `${r.stdout}${r.stderr}` }
}

describe('conf/prometheus alert rules', () => {
  it('pass their promtool unit tests', () => {
    const { code, output } = promtool(['test', 'rules', RULE_TESTS])
    expect(output).toMatch(/SUCCESS/)
    expect(code, output).toBe(0)
  })

  it('every alert has a unit test in which it fires', () => {
    const firing = new Set(
      readYaml(RULE_TESTS).tests.flatMap((t: any) => t.alert_rule_test.filter((a: any) => a.exp_alerts?.length).map((a: any) => a.alertname)),
    )
    const names = alerts().map((a) => a.alert)
    expect(names.length).toBeGreaterThanOrEqual(11)
    expect(names.filter((n) => !firing.has(n))).toEqual([])
  })

  it('query only metrics the exporter emits (or Prometheus\' up, or the backup textfile)', () => {
    const known = exporterMetricNames()
    const unknown = alerts().flatMap((a) => metricNamesIn(a.expr).filter((m) => !known.has(m) && m !== 'up' && !m.startsWith('redis_cluster_backup_')))
    expect(unknown).toEqual([])
    // node down means Redis down: in multi-target mode `up` is the exporter's own answer
    expect(alerts().find((a) => a.alert === 'RedisNodeDown')?.expr).toMatch(/^redis_up == 0$/)
  })
})

describe('conf/prometheus/prometheus.yml', () => {
  it('is a valid config that loads the rules', () => {
    const { code, output } = promtool(['check', 'config', CONFIG])
    expect(output).toMatch(/1 rule files found/)
    expect(code, output).toBe(0)
  })

  it('scrapes all six nodes at the compose file\'s default addresses, each labelled with its node', () => {
    const stack = loadStack({ env: { PATH: process.env.PATH, RC_ROOT: REPO_ROOT, RC_ENV_FILE: '/dev/null' }, requireSecrets: false })
    const job = readYaml(CONFIG).scrape_configs.find((j: any) => j.job_name === 'redis')
    // the node list is file_sd (targets/, which docker-compose.tls.yml replaces with rediss:// under RC_TLS=1)
    expect(job.file_sd_configs).toEqual([{ files: ['targets/*.yml'] }])
    const scraped = readYaml(join(PROMETHEUS_DIR, 'targets', 'redis-nodes.yml')).map((c: any) => ({ target: c.targets[0], node: c.labels.node }))
    expect(scraped).toEqual(stack.nodes.map((n) => ({ target: `redis://${n.clusterIp}:${n.port}`, node: n.name })))
    expect(job.metrics_path).toBe('/scrape')
  })

  it('gives the exporter longer than its connection timeout, so a dead node reads as redis_up 0', () => {
    const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1])
    const scrapeTimeout = seconds(readYaml(CONFIG).global.scrape_timeout)
    const connect = seconds(/--connection-timeout=(\w+)/.exec(readFileSync(START_EXPORTER, 'utf8'))?.[1] ?? '')
    expect(connect).toBeGreaterThan(0)
    expect(scrapeTimeout).toBeGreaterThan(connect)
  })
})

describe('metricNamesIn()', () => {
  it('finds the selected metrics, not functions, labels, keywords or numbers', () => {
    expect(metricNamesIn('time() - redis_cluster_backup_last_success_timestamp_seconds > 26 * 3600')).toEqual(['redis_cluster_backup_last_success_timestamp_seconds'])
    expect(metricNamesIn('sum by (node) (rate(redis_x_total{job="redis",role=~"m.*"}[5m])) / on (instance) group_left () redis_y > 1e3 and up')).toEqual(['redis_x_total', 'redis_y', 'up'])
  })
})

describe('requireBinary()', () => {
  it('says how to install a missing binary', () => {
    expect(() => requireBinary('prometheus-redis-exporter-missing')).toThrow(/^prometheus-redis-exporter-missing is not installed: apt-get install -y /)
  })
})
