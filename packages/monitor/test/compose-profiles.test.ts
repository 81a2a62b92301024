import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '@redis-cluster/test-utils'
import { readYaml } from './_monitoring.ts'

// The compose file as written (before interpolation): what the profiles declare.
const services = () => readYaml(join(REPO_ROOT, 'compose', 'docker-compose.yml')).services

describe('compose profile gui', () => {
  it('routes RedisInsight through Traefik with the spec\'s labels and publishes no port', () => {
    const insight = services().redisinsight
    expect(insight.profiles).toEqual(['gui'])
    expect(insight.ports).toBeUndefined()
    expect(insight.labels).toMatchObject({
      'traefik.enable': 'true',
      'traefik.http.routers.redisinsight.rule': 'Host(`redisinsight.${DEFAULT_URL:-hy-home.local}`)',
      'traefik.http.routers.redisinsight.entrypoints': 'websecure',
      'traefik.http.routers.redisinsight.tls': 'true',
      'traefik.http.routers.redisinsight.middlewares': 'sso-auth@file',
      'traefik.http.services.redisinsight.loadbalancer.server.port': '${REDIS_INSIGHT_PORT:-5540}',
    })
  })
})

describe('compose profile monitoring', () => {
  it('gives the exporter the secret as a file and every node as a target, with no password in env or argv', () => {
    const all = services()
    const exporter = all['redis-exporter']
    expect(exporter.profiles).toEqual(['monitoring'])
    expect(exporter.secrets).toEqual(['user_exporter'])
    expect(exporter.entrypoint).toEqual(['sh', '/usr/local/lib/redis-cluster/start-exporter.sh'])
    expect(exporter.command).toBeUndefined()
    expect(Object.keys(exporter.environment).filter((k) => /PASS|AUTH/i.test(k))).toEqual([])
    const nodes = Object.keys(all).filter((name) => /^redis-node-\d+$/.test(name))
    expect(nodes).toHaveLength(6)
    const expected = nodes.map((name) => `${all[name].environment.REDIS_ANNOUNCE_IP}:${all[name].environment.REDIS_PORT}`)
    expect(exporter.environment.REDIS_NODES.split(/\s+/)).toEqual(expected)
  })

  it('mounts conf/prometheus and conf/grafana into Prometheus and Grafana', () => {
    const all = services()
    expect(all.prometheus.volumes).toContain('../conf/prometheus:/etc/prometheus:ro')
    for (const kind of ['datasources', 'dashboards']) expect(all.grafana.volumes).toContain(`../conf/grafana/provisioning/${kind}:/etc/grafana/provisioning/${kind}:ro`)
    for (const name of ['redis-exporter', 'prometheus', 'grafana']) expect(all[name].profiles, name).toEqual(['monitoring'])
  })
})
