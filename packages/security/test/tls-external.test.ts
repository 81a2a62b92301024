import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster, connectNode, type Stack } from '@redis-cluster/core'
import { createExternalCluster, runCli, startExternalNodes, type ExternalNodes } from '@redis-cluster/test-utils'
import { readNodeCertificates, type CheckResult } from '../src/index.ts'

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

  /** A node certificate from the test CA (the nodes' own key), as an operator would make one. */
  const signNodeCertificate = (file: string, san: string, days: number) => {
    const tls = cluster.tls!
    writeFileSync(`${file}.ext`, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`)
    execFileSync('openssl', ['req', '-new', '-key', tls.nodeKey, '-subj', '/CN=node', '-out', `${file}.csr`], { stdio: 'ignore' })
    execFileSync('openssl', ['x509', '-req', '-in', `${file}.csr`, '-CA', tls.ca, '-CAkey', tls.caKey, '-set_serial', `0x${Date.now().toString(16)}`, '-days', String(days), '-extfile', `${file}.ext`, '-out', file], { stdio: 'ignore' })
  }
  /** Runs `run` while `node` presents `cert` (CONFIG SET of a tls-* file reloads the certificates: new connections get it), then puts the node's own back. */
  const presenting = async (node: Stack['nodes'][number], cert: string, run: () => Promise<void>) => {
    const client = await connectNode(stack, node)
    try {
      await client.config('SET', 'tls-cert-file', cert)
      await run()
    } finally {
      await client.config('SET', 'tls-cert-file', cluster.tls!.nodeCert)
      client.disconnect()
    }
  }
  const auditTls = async (): Promise<CheckResult> => {
    const audit = await runCli('security/security-audit', ['--json'], cluster.env)
    const tls = (JSON.parse(audit.stdout).checks as CheckResult[]).find((c) => c.id === 'tls')
    expect(tls, audit.stderr).toBeDefined()
    return tls!
  }

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

  it('security:audit: the tls item passes on the nodes\' settings, the toolkit\'s CA and client certificate, and each node\'s certificate read over the handshake', async () => {
    const tls = await auditTls()
    expect(tls).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/^TLS only on all 8 nodes .*certificates: ca\.crt until .*, client\.crt until .*; node certificates \(soonest expiry in each node's chain\): 127\.0\.0\.2:\d+, .* until \S+ \(\d+ days left\)$/) })
    expect(tls.detail).not.toContain('node.crt')
    for (const { host, port } of cluster.addresses) expect(tls.detail).toContain(`${host}:${port}`)
    expect(tls.note).toBeUndefined()
  }, 60_000)

  it('a node whose certificate expires within 30 days: the audit passes with a note naming that node alone', async () => {
    const node = stack.nodes.find((n) => n.host === '127.0.0.5')!
    const soon = join(cluster.dir, 'soon.crt')
    signNodeCertificate(soon, 'IP:127.0.0.5', 10)
    await presenting(node, soon, async () => {
      const tls = await auditTls()
      expect(tls).toMatchObject({ status: 'PASS', note: expect.stringMatching(new RegExp(`^renew soon, node certificates: 127\\.0\\.0\\.5:${cluster.port} until \\S+ \\(9 days left\\) \\(renew the named nodes' certificates on their hosts`)) })
      expect(tls.note).not.toMatch(/127\.0\.0\.[2-46-9]/)
      expect(tls.detail).toMatch(new RegExp(`127\\.0\\.0\\.5:${cluster.port} until \\S+ \\(9 days left\\)`))
    })
  }, 60_000)

  it('a node that cannot be reached has no known certificate: a problem naming it, never an expiry', async () => {
    const gone = { ...stack.nodes[0]!, name: `127.0.0.20:${cluster.port}`, host: '127.0.0.20' }
    expect(await readNodeCertificates({ tls: stack.tls, nodes: [gone, stack.nodes[1]!] })).toEqual([
      { node: gone.name, problem: `${gone.name}: cannot be reached to read its certificate (ECONNREFUSED)` },
      { node: stack.nodes[1]!.name, expiry: expect.objectContaining({ source: stack.nodes[1]!.name, expired: false }) },
    ])
  })

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
    const node = stack.nodes.find((n) => n.host === '127.0.0.7')!
    const cert = join(cluster.dir, 'elsewhere.crt')
    signNodeCertificate(cert, 'IP:10.9.9.9', 30)
    await presenting(node, cert, async () => {
      const status = await runCli('monitor/status', [], cluster.env)
      expect(status.exitCode, status.stdout).toBe(78)
      expect(status.stderr).toMatch(new RegExp(`127\\.0\\.0\\.7:${cluster.port}: its TLS certificate does not name this address \\(ERR_TLS_CERT_ALTNAME_INVALID: no such SAN\\)\n  fix: the node's certificate must name the address it announces`))
    })
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
