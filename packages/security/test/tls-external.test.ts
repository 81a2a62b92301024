import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster, connectNode, type Stack } from '@redis-cluster/core'
import { createExternalCluster, runCli, startExternalNodes, type ExternalNodes } from '@redis-cluster/test-utils'
import type { CheckResult } from '../src/index.ts'

const KEYS = 200

// Eight TLS-only nodes on 127.0.0.2-9 (port 0, tls-port, tls-cluster, tls-replication), started outside the
// toolkit with the node certificate `secrets:tls --host ...` made, as an operator would install it.
describe('RC_TLS=1 on the external runtime (4 masters, 4 replicas)', () => {
  let cluster: ExternalNodes
  let stack: Stack
  beforeAll(async () => {
    cluster = await createExternalCluster({ masters: 4, replicas: 1, tls: true })
    stack = await cluster.load()
    const client = connectCluster(stack)
    try {
      for (let i = 0; i < KEYS; i++) await client.set(`tls-external:${i}`, `v${i}`)
    } finally {
      client.disconnect()
    }
  }, 120_000)
  afterAll(() => cluster?.cleanup())

  it('secrets:tls on external: the node certificate names RC_SEEDS\' hosts and --host\'s; the output says how to install it', async () => {
    expect(stack.tls).toMatchObject({ remote: true, ca: join(cluster.dir, 'secrets/tls/ca.crt') })
    expect(stack.nodes).toHaveLength(8)
    const env = { ...cluster.env, RC_SECRETS_DIR: join(cluster.dir, 'fresh') }
    const seedsOnly = await runCli('security/secrets-tls', ['--json'], env)
    expect(seedsOnly.exitCode, seedsOnly.stderr).toBe(0)
    expect(JSON.parse(seedsOnly.stdout)).toMatchObject({ sans: ['IP:127.0.0.2', 'IP:127.0.0.3'], keyMode: '0600', external: true })
    const more = await runCli('security/secrets-tls', ['--host', '127.0.0.9,redis-a.internal'], { ...env, RC_SECRETS_DIR: join(cluster.dir, 'more') })
    expect(more.exitCode, more.stderr).toBe(0)
    expect(more.stdout).toContain('the node certificate covers IP:127.0.0.2, IP:127.0.0.3, IP:127.0.0.9, DNS:redis-a.internal')
    expect(more.stdout).toMatch(/^on each node: copy ca\.crt, node\.crt and node\.key there; redis\.conf: port 0, tls-port/m)
    const bad = await runCli('security/secrets-tls', ['--host', '10.0.0.5,bad host'], env)
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/--host 'bad host' is not an IPv4 address or a host name/)
  })

  it('status, report --json and cluster:check work over TLS on all 8 nodes', async () => {
    const status = await runCli('monitor/status', [], cluster.env)
    expect(status.exitCode, status.stderr).toBe(0)
    for (const { host, port } of cluster.addresses) expect(status.stdout).toContain(`${host}:${port}`)
    const report = await runCli('monitor/report', ['--json'], cluster.env)
    expect(report.exitCode, report.stderr).toBe(0)
    expect(JSON.stringify(JSON.parse(report.stdout))).toContain('127.0.0.9')
    const check = await runCli('init/cluster-check', [], cluster.env)
    expect(check.exitCode, `${check.stdout}${check.stderr}`).toBe(0)
  }, 90_000)

  it('backup (redis-cli --rdb over TLS) and backup:verify', async () => {
    const backup = await runCli('backup/backup', ['--json'], cluster.env)
    expect(backup.exitCode, backup.stderr).toBe(0)
    const result = JSON.parse(backup.stdout)
    expect(result).toMatchObject({ keys: KEYS })
    expect(result.shards).toHaveLength(4)
    const verify = await runCli('backup/backup-verify', ['latest'], cluster.env)
    expect(verify.exitCode, verify.stderr).toBe(0)
    expect(verify.stdout).toBe(`${result.dir}: good (${KEYS} keys)\n`)
  }, 120_000)

  it('security:audit: the tls item passes on the nodes\' settings and the toolkit\'s CA and client certificate (the nodes\' own are on their hosts)', async () => {
    const audit = await runCli('security/security-audit', ['--json'], cluster.env)
    const tls = JSON.parse(audit.stdout).checks.find((c: CheckResult) => c.id === 'tls')
    expect(tls, audit.stderr).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/^TLS only on all 8 nodes .*certificates: ca\.crt until .*, client\.crt until /) })
    expect(tls.detail).not.toContain('node.crt')
  }, 60_000)

  it('a CA that did not sign the nodes\' certificates: 78 naming the node and the CA file', async () => {
    // another CA with a client certificate of its own: the toolkit's files agree with each other, not with the nodes
    const other = { ...cluster.env, RC_SECRETS_DIR: join(cluster.dir, 'other') }
    const made = await runCli('security/secrets-tls', ['--quiet'], other)
    expect(made.exitCode, made.stderr).toBe(0)
    const status = await runCli('monitor/status', [], other)
    expect(status.exitCode, status.stderr).toBe(78)
    const ca = join(cluster.dir, 'other/tls/ca.crt')
    expect(status.stderr).toMatch(new RegExp(`127\\.0\\.0\\.[23]:${cluster.port}: its TLS certificate is not signed by the CA ${ca.replace(/\./g, '\\.')} \\(SELF_SIGNED_CERT_IN_CHAIN\\)`))
    expect(status.stderr).toContain("must be the CA that signed the cluster's node certificates")
    // every command finds the cluster the same way
    const check = await runCli('init/cluster-check', [], other)
    expect(check.exitCode, check.stderr).toBe(78)
  }, 60_000)

  it('a discovered node whose certificate does not name its address: 78 naming that node; status works again once it is back', async () => {
    const tls = cluster.tls!
    const node = stack.nodes.find((n) => n.host === '127.0.0.7')!
    const cert = join(cluster.dir, 'elsewhere.crt')
    writeFileSync(`${cert}.ext`, 'subjectAltName=IP:10.9.9.9\nextendedKeyUsage=serverAuth,clientAuth\n')
    execFileSync('openssl', ['req', '-new', '-key', tls.nodeKey, '-subj', '/CN=elsewhere', '-out', `${cert}.csr`], { stdio: 'ignore' })
    execFileSync('openssl', ['x509', '-req', '-in', `${cert}.csr`, '-CA', tls.ca, '-CAkey', tls.caKey, '-set_serial', '0x1234', '-days', '30', '-extfile', `${cert}.ext`, '-out', cert], { stdio: 'ignore' })
    const client = await connectNode(stack, node)
    try {
      // CONFIG SET of a tls-* file reloads the certificates: new connections get this one
      await client.config('SET', 'tls-cert-file', cert)
      const status = await runCli('monitor/status', [], cluster.env)
      expect(status.exitCode, status.stdout).toBe(78)
      expect(status.stderr).toMatch(new RegExp(`127\\.0\\.0\\.7:${cluster.port}: its TLS certificate does not name this address \\(ERR_TLS_CERT_ALTNAME_INVALID: no such SAN\\)\n  fix: the node's certificate must name the address it announces`))
    } finally {
      await client.config('SET', 'tls-cert-file', tls.nodeCert)
      client.disconnect()
    }
    const status = await runCli('monitor/status', [], cluster.env)
    expect(status.exitCode, status.stderr).toBe(0)
  }, 60_000)

  it('RC_TLS unset against these TLS-only nodes: 75, the hint names RC_TLS=1', async () => {
    const status = await runCli('monitor/status', [], { ...cluster.env, RC_TLS: '0' })
    expect(status.exitCode).toBe(75)
    expect(status.stderr).toMatch(new RegExp(`^status: no seed answers: seed 127\\.0\\.0\\.2:${cluster.port} closed the connection; .*\n  fix: .*or speak TLS only \\(then set RC_TLS=1\\)`))
  }, 60_000)

})

describe('RC_TLS=1 against plaintext external nodes', () => {
  let plain: ExternalNodes | undefined
  afterAll(() => plain?.cleanup())
  it('the seeds still speak plaintext: 75, they did not answer the TLS handshake, the hint says RC_SEEDS must name TLS ports', async () => {
    plain = await startExternalNodes({ count: 2 })
    const secrets = join(plain.dir, 'secrets')
    const made = await runCli('security/secrets-tls', ['--quiet'], { ...plain.env, RC_TLS: '1', RC_SECRETS_DIR: secrets })
    expect(made.exitCode, made.stderr).toBe(0)
    const status = await runCli('monitor/status', [], { ...plain.env, RC_TLS: '1', RC_SECRETS_DIR: secrets })
    expect(status.exitCode).toBe(75)
    expect(status.stderr).toMatch(new RegExp(`^status: no seed answers: seed 127\\.0\\.0\\.2:${plain.port} did not answer the TLS handshake in time; `))
    expect(status.stderr).toContain('fix: the node may be paused or overloaded, or speak plaintext on this port (RC_SEEDS must name the TLS ports)')
  }, 90_000)
})

describe('cluster:create --seeds over TLS (external runtime)', () => {
  let nodes: ExternalNodes | undefined
  afterAll(() => nodes?.cleanup())

  it('forms six TLS-only nodes on three hosts (redis-cli --cluster create --tls); status then reads a healthy cluster', async () => {
    nodes = await startExternalNodes({ count: 6, perHost: 2, tls: true })
    const seeds = nodes.addresses.map((a) => `${a.host}:${a.port}`).join(',')
    const created = await runCli('init/cluster-create', ['--seeds', seeds], nodes.env)
    expect(created.exitCode, created.stderr).toBe(0)
    expect(created.stdout).toMatch(/^cluster formed on 3 hosts: 3 masters, 3 replicas, healthy/)
    const status = await runCli('monitor/status', [], nodes.env)
    expect(status.exitCode, status.stdout + status.stderr).toBe(0)
  }, 120_000)
})
