import { chmodSync, statSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCompose } from '@redis-cluster/compose'
import { connectCluster } from '@redis-cluster/core'
import { allocatePorts, composeUnavailable, createComposeTestStack, docker, runCli, type ComposeTestStack } from '@redis-cluster/test-utils'
import type { CheckResult } from '../src/index.ts'

// RC_TLS=1 on compose: certificates from secrets:tls mounted as secrets (docker-compose.tls.yml),
// start-node.sh writes the tls-* lines, init forms the cluster over TLS.
const unavailable = composeUnavailable()
const KEYS = 100
const EXPORTER_IMAGE = process.env.REDIS_EXPORTER_IMAGE || 'redis-cluster-toolkit/redis-exporter:local'
if (unavailable && process.env.CI !== 'true') console.warn(`TLS compose tests skipped: ${unavailable}`)

describe.skipIf(Boolean(unavailable) && process.env.CI !== 'true')('RC_TLS=1 (compose runtime)', () => {
  let test: ComposeTestStack
  beforeAll(async () => {
    test = await createComposeTestStack({ tls: true })
    const up = await runCli('init/up', [], test.env)
    expect(up.exitCode, `${up.stdout}${up.stderr}`).toBe(0)
    const client = connectCluster(test.load())
    try {
      for (let i = 0; i < KEYS; i++) await client.set(`tls-compose:${i}`, `v${i}`)
    } finally {
      client.disconnect()
    }
  }, 240_000)
  afterAll(() => test?.cleanup(), 120_000)

  it('up formed the cluster over TLS: status ok; audit tls PASS (port 0, tls-port, tls-cluster, tls-replication on all 6)', async () => {
    const status = await runCli('monitor/status', [], test.env)
    expect(status.exitCode, `${status.stdout}${status.stderr}`).toBe(0)
    const audit = await runCli('security/security-audit', ['--json'], test.env)
    const tls = JSON.parse(audit.stdout).checks.find((c: CheckResult) => c.id === 'tls')
    expect(tls, audit.stderr).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/^TLS only on all 6 nodes/) })
    // the containers read the node and client keys (group 999); the CA key stays the owner's alone
    const tlsFiles = test.load().tls!
    expect([tlsFiles.caKey, tlsFiles.nodeKey, tlsFiles.clientKey].map((f) => (statSync(f).mode & 0o777).toString(8))).toEqual(['600', '640', '640'])
    chmodSync(tlsFiles.caKey, 0o640)
    try {
      const loose = JSON.parse((await runCli('security/security-audit', ['--json'], test.env)).stdout).checks.find((c: CheckResult) => c.id === 'tls')
      expect(loose).toMatchObject({ status: 'FAIL', detail: expect.stringContaining(`${tlsFiles.caKey} is readable by group`) })
    } finally {
      chmodSync(tlsFiles.caKey, 0o600)
    }
  }, 90_000)

  it('the containers\' healthcheck (redis-cli --tls as the replication user) reports healthy', async () => {
    const ids = docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${test.project}`, '--filter', 'label=com.docker.compose.service=redis-node-0']).stdout.trim()
    expect(ids).not.toBe('')
    let health = ''
    for (let attempt = 0; attempt < 120 && health !== 'healthy'; attempt++) {
      health = docker(['inspect', '--format', '{{.State.Health.Status}}', ids]).stdout.trim()
      if (health !== 'healthy') await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(health).toBe('healthy')
  }, 90_000)

  it('backup and backup:verify over TLS', async () => {
    const backup = await runCli('backup/backup', ['--json'], test.env)
    expect(backup.exitCode, backup.stderr).toBe(0)
    const verify = await runCli('backup/backup-verify', ['latest'], test.env)
    expect(verify.exitCode, verify.stderr).toBe(0)
    expect(verify.stdout).toMatch(new RegExp(`: good \\(${KEYS} keys\\)\n$`))
  }, 120_000)

  it('pnpm cli runs redis-cli --tls inside a node container, with the mounted certificates', async () => {
    const cli = await runCli('compose/cli', ['--', '-p', `${test.ports[0]}`, 'cluster', 'info'], test.env)
    expect(cli.exitCode, cli.stderr).toBe(0)
    expect(cli.stdout).toMatch(/^cluster_state:ok/m)
  }, 60_000)

  it('the exporter scrapes rediss://<node> with the CA and the client certificate, as the exporter user', async () => {
    const [hostPort] = await allocatePorts(1)
    const stack = test.load({ REDIS_EXPORTER_IMAGE: EXPORTER_IMAGE, REDIS_EXPORTER_HOST_PORT: `${hostPort}` })
    await runCompose(stack, ['--profile', 'monitoring', 'up', '-d', '--no-deps', 'redis-exporter'])
    const node = stack.nodes[0]!
    let text = ''
    for (let attempt = 0; attempt < 120 && !/^redis_up 1$/m.test(text); attempt++) {
      text = await fetch(`http://127.0.0.1:${hostPort}/scrape?target=rediss://${node.clusterIp}:${node.port}`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text(), () => '')
      if (!/^redis_up 1$/m.test(text)) await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(text).toMatch(/^redis_up 1$/m)
    expect(text).toMatch(/^redis_cluster_state 1$/m)
  }, 120_000)
})
