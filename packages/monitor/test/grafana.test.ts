import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GRAFANA_DIR, dashboardQueries, exporterMetricNames, metricNamesIn, readYaml } from './_monitoring.ts'

const DASHBOARDS = join(GRAFANA_DIR, 'dashboards')

describe('conf/grafana', () => {
  it('provisions the Prometheus datasource the dashboard uses', () => {
    const [source] = readYaml(join(GRAFANA_DIR, 'provisioning', 'datasources', 'prometheus.yml')).datasources
    expect(source).toMatchObject({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090' })
    const dashboard = JSON.parse(readFileSync(join(DASHBOARDS, 'redis-cluster.json'), 'utf8'))
    const uids = new Set(dashboard.panels.flatMap((p: any) => [p.datasource, ...p.targets.map((t: any) => t.datasource)]).map((d: any) => d.uid))
    expect([...uids]).toEqual(['prometheus'])
  })

  it('loads the dashboards from the directory compose mounts', () => {
    const [provider] = readYaml(join(GRAFANA_DIR, 'provisioning', 'dashboards', 'redis-cluster.yml')).providers
    const compose = readFileSync(join(GRAFANA_DIR, '..', '..', 'compose', 'docker-compose.yml'), 'utf8')
    expect(compose).toContain(`../conf/grafana/dashboards:${provider.options.path}:ro`)
  })

  it('the dashboard JSON parses, has unique panel ids, and shows up, keys, memory, ops, lag and cluster state', () => {
    const dashboard = JSON.parse(readFileSync(join(DASHBOARDS, 'redis-cluster.json'), 'utf8'))
    const ids = dashboard.panels.map((p: any) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    const used = new Set(dashboardQueries().flatMap((q) => metricNamesIn(q.expr)))
    for (const metric of ['redis_up', 'redis_db_keys', 'redis_memory_used_bytes', 'redis_commands_processed_total', 'redis_connected_slave_lag_seconds', 'redis_cluster_state']) {
      expect(used, metric).toContain(metric)
    }
  })

  it('every panel query names only metrics the exporter or our backup textfile emits', () => {
    const known = exporterMetricNames()
    const unknown = dashboardQueries().flatMap(({ panel, expr }) =>
      metricNamesIn(expr).filter((m) => !known.has(m) && !m.startsWith('redis_cluster_backup_')).map((m) => `${panel}: ${m}`),
    )
    expect(unknown).toEqual([])
  })
})
