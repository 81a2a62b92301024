import { spawn } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectNode, waitFor } from '@redis-cluster/core'
import { runCompose } from '../src/index.ts'
import { REPO_ROOT, allocatePorts, composeUnavailable, createComposeTestStack, docker, runCli, type ComposeTestStack } from '@redis-cluster/test-utils'

// RC_TLS=1 on compose, the parts beyond the six nodes: the host-side preflight of the
// certificate files, Prometheus' rediss:// targets, and a node added by cluster:add-node.
// One stack, in order: preflight refusals (nothing started), up, Prometheus, add-node.
const unavailable = composeUnavailable()
const EXPORTER_IMAGE = process.env.REDIS_EXPORTER_IMAGE || 'redis-cluster-toolkit/redis-exporter:local'
if (unavailable && process.env.CI !== 'true') console.warn(`compose TLS e2e tests skipped: ${unavailable}`)
const projectContainers = (project: string) => docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).stdout.trim()

describe.skipIf(Boolean(unavailable) && process.env.CI !== 'true')('RC_TLS=1 on compose: preflight, Prometheus, added nodes', () => {
  let test: ComposeTestStack
  beforeAll(async () => {
    test = await createComposeTestStack({ tls: true })
  }, 120_000)
  afterAll(() => test?.cleanup(), 120_000)

  it('a node key uid 999 cannot read, or a missing certificate: one line, exit 78, before any container starts', async () => {
    const tls = test.load().tls!
    chmodSync(tls.nodeKey, 0o600)
    try {
      const unreadable = await runCli('init/up', [], test.env)
      expect(unreadable.exitCode, unreadable.stderr).toBe(78)
      expect(unreadable.stderr).toContain(`RC_TLS=1: ${tls.nodeKey} is not readable by uid 999, the containers' redis user (mode 0600, owner `)
      expect(unreadable.stderr).toContain(`fix: chgrp 999 ${tls.nodeKey} && chmod 640 ${tls.nodeKey}`)
    } finally {
      chmodSync(tls.nodeKey, 0o640)
    }
    renameSync(tls.clientCert, `${tls.clientCert}.away`)
    try {
      const missing = await runCli('init/up', [], test.env)
      expect(missing.exitCode, missing.stderr).toBe(78)
      expect(missing.stderr).toContain(`${tls.clientCert} is missing`)
      expect(missing.stderr).toMatch(/fix: .*`pnpm secrets:tls`/)
    } finally {
      renameSync(`${tls.clientCert}.away`, tls.clientCert)
    }
    expect(projectContainers(test.project)).toBe('')
  }, 120_000)

  it('up writes rediss:// targets; the real Prometheus, on our prometheus.yml, scrapes them through the exporter container: redis_up 1 on all six', async () => {
    const up = await runCli('init/up', [], test.env)
    expect(up.exitCode, `${up.stdout}${up.stderr}`).toBe(0)
    const [exporterPort, prometheusPort] = await allocatePorts(2)
    const stack = test.load({ REDIS_EXPORTER_IMAGE: EXPORTER_IMAGE, REDIS_EXPORTER_HOST_PORT: `${exporterPort}` })
    const generated = join(stack.dataDir, 'prometheus-targets', 'redis-nodes.yml')
    const expected = stack.nodes.map((n) => ({ targets: [`rediss://${n.clusterIp}:${n.port}`], labels: { node: n.name } }))
    expect(JSON.parse(readFileSync(generated, 'utf8'))).toEqual(expected)
    // the TLS override mounts that directory where prometheus.yml's file_sd looks
    const config = (await runCompose(stack, ['--profile', 'monitoring', 'config'])).stdout
    expect(config).toContain(`${join(stack.dataDir, 'prometheus-targets')}:/etc/prometheus/targets:ro`)
    await runCompose(stack, ['--profile', 'monitoring', 'up', '-d', '--no-deps', 'redis-exporter'])

    // Our prometheus.yml and rules with the container's view swapped for the host's: the
    // exporter at its published port, 1 s intervals; targets/ holds the file the container would mount.
    const dir = join(test.dir, 'prometheus')
    mkdirSync(join(dir, 'targets'), { recursive: true })
    const conf = join(REPO_ROOT, 'conf', 'prometheus')
    const ours = readFileSync(join(conf, 'prometheus.yml'), 'utf8')
    expect(ours).toContain('redis-exporter:9121')
    writeFileSync(join(dir, 'prometheus.yml'), ours.replaceAll('redis-exporter:9121', `127.0.0.1:${exporterPort}`).replace(/scrape_interval: 15s/, 'scrape_interval: 1s').replace(/scrape_timeout: 10s/, 'scrape_timeout: 1s'))
    copyFileSync(join(conf, 'redis-alerts.yml'), join(dir, 'redis-alerts.yml'))
    copyFileSync(generated, join(dir, 'targets', 'redis-nodes.yml'))
    const prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${prometheusPort}`], { stdio: 'ignore' })
    const api = async (path: string) => ((await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/${path}`, { signal: AbortSignal.timeout(5000) })).json()) as { data: any }).data
    try {
      const targets = await waitFor(
        async () => {
          const active = ((await api('targets?state=active')).activeTargets as any[]).filter((t) => t.labels.job === 'redis')
          return (active.length === 6 && active.every((t) => t.health === 'up')) || `${active.length} redis targets, health ${active.map((t) => t.health).join(',')}`
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'six healthy redis targets in Prometheus' },
      ).then(async () => ((await api('targets?state=active')).activeTargets as any[]).filter((t) => t.labels.job === 'redis'))
      expect(targets.map((t) => [t.labels.node, t.labels.instance]).sort()).toEqual(expected.map((e) => [e.labels.node, e.targets[0]]))
      const redisUp = async () => (await api(`query?query=${encodeURIComponent('redis_up{job="redis"}')}`)).result as any[]
      await waitFor(async () => (await redisUp()).length === 6 || 'fewer than six redis_up series', { timeoutMs: 30_000, intervalMs: 500, what: 'six redis_up series' })
      expect((await redisUp()).map((r) => [r.metric.node, r.value[1]]).sort()).toEqual(stack.nodes.map((n) => [n.name, '1']))
    } finally {
      prometheus.kill()
    }
  }, 240_000)

  it('a service added with REDIS_ADDED: without its line in docker-compose.tls.yml up is refused (78); with it, it starts over TLS and add-node joins it; status healthy', async () => {
    // A compose directory of the user's own: the repo's files plus a seventh service, as README shows.
    const composeDir = join(test.dir, 'compose')
    mkdirSync(composeDir)
    symlinkSync(join(REPO_ROOT, 'compose', 'node'), join(composeDir, 'node'))
    symlinkSync(join(REPO_ROOT, 'conf'), join(test.dir, 'conf'))
    const [port] = await allocatePorts(1)
    const ip = test.env.REDIS0_IP!.replace(/\.\d+$/, '.16')
    const service = [
      '  redis-node-6:',
      '    <<: *redis-node',
      '    environment:',
      '      <<: *redis-node-env',
      `      REDIS_PORT: ${port}`,
      `      REDIS_BUS_PORT: ${port! + 10000}`,
      `      REDIS_ANNOUNCE_IP: ${ip}`,
      '      REDIS_ADDED: replica-of redis-node-0',
      '    ports:',
      `      - "127.0.0.1:${port}:${port}"`,
      '    volumes:',
      '      - redis-data-6:/data',
      '      - ../conf/redis.conf:/usr/local/etc/redis/redis.conf:ro',
      '      - ./node:/usr/local/lib/redis-cluster:ro',
      '    networks:',
      '      infra_net:',
      `        ipv4_address: ${ip}`,
      '',
    ].join('\n')
    const base = readFileSync(join(REPO_ROOT, 'compose', 'docker-compose.yml'), 'utf8')
    writeFileSync(join(composeDir, 'docker-compose.yml'), base.replace('\n  redis-cluster-init:', `\n${service}\n  redis-cluster-init:`).replace('\nvolumes:\n', '\nvolumes:\n  redis-data-6:\n'))
    const override = readFileSync(join(REPO_ROOT, 'compose', 'docker-compose.tls.yml'), 'utf8')
    writeFileSync(join(composeDir, 'docker-compose.tls.yml'), override)
    const env = { ...test.env, RC_COMPOSE_FILE: join(composeDir, 'docker-compose.yml') }

    const refused = await runCli('init/up', [], env)
    expect(refused.exitCode, refused.stderr).toBe(78)
    expect(refused.stderr).toContain(`RC_TLS=1: redis-node-6 (REDIS_ADDED) is not in`)
    expect(refused.stderr).toContain(`fix: add the line \`  redis-node-6: *tls-node\` under services: in ${join(composeDir, 'docker-compose.tls.yml')}`)

    // what README tells the user to write, then start it by hand (the toolkit's own -f list)
    writeFileSync(join(composeDir, 'docker-compose.tls.yml'), override.replace('  redis-node-5: *tls-node\n', '  redis-node-5: *tls-node\n  redis-node-6: *tls-node\n'))
    const stack = test.load({ RC_COMPOSE_FILE: env.RC_COMPOSE_FILE })
    await runCompose(stack, ['up', '-d', '--no-deps', 'redis-node-6'])
    const node = stack.nodes.find((n) => n.name === 'redis-node-6')!
    expect(node).toMatchObject({ added: true, port })
    await waitFor(
      async () => {
        const client = await connectNode(stack, node, { connectTimeoutMs: 1000 })
        try {
          // TLS only: no plaintext port
          return ((await client.config('GET', 'port')) as string[])[1] === '0' || 'plaintext port open'
        } finally {
          client.disconnect()
        }
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'redis-node-6 to answer over TLS' },
    )

    const add = await runCli('init/cluster-add-node', ['--node', 'redis-node-6', '--replica-of', 'redis-node-0'], env)
    expect(add.exitCode, `${add.stdout}${add.stderr}`).toBe(0)
    const status = await runCli('monitor/status', ['--json'], env)
    expect(status.exitCode, `${status.stdout}${status.stderr}`).toBe(0)
    expect(JSON.parse(status.stdout).nodes.at(-1)).toMatchObject({ node: 'redis-node-6', role: 'replica', master: 'redis-node-0', link: 'up' })
    const upAgain = await runCli('init/up', [], env)
    expect(upAgain.exitCode, `${upAgain.stdout}${upAgain.stderr}`).toBe(0)
  }, 240_000)
})
