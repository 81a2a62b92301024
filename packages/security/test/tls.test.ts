import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeClient, connectCluster, connectNode, type RcError, type Stack } from '@redis-cluster/core'
import { allocatePorts, createTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import { tlsCheck } from '../src/tls-check.ts'
import type { AuditContext, AuditReport } from '../src/index.ts'

/** Signs node.key into `out` with the stack's CA (or itself): `days` may be negative (already expired), `san` replaces the SANs. */
function signNodeCert(stack: Stack, out: string, { days, san, selfSigned = false }: { days: number; san: string; selfSigned?: boolean }): void {
  const tls = stack.tls!
  const csr = `${out}.csr`
  const ext = `${out}.ext`
  if (selfSigned) {
    execFileSync('openssl', ['req', '-x509', '-new', '-key', tls.nodeKey, '-subj', '/CN=self-signed node', '-days', String(days), '-addext', `subjectAltName=${san}`, '-out', out], { stdio: 'ignore' })
    return
  }
  writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`)
  execFileSync('openssl', ['req', '-new', '-key', tls.nodeKey, '-subj', '/CN=test node', '-out', csr], { stdio: 'ignore' })
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', tls.ca, '-CAkey', tls.caKey, '-set_serial', String(Date.now()), '-days', String(days), '-extfile', ext, '-out', out], { stdio: 'ignore' })
}

describe('RC_TLS=1 (local runtime)', () => {
  let test: TestStack
  let stack: Stack
  const env = () => ({ ...test.env, RC_BACKUP_DIR: join(test.dir, 'backups') })
  /** A TLS client that trusts anything: the test's way in while the node presents a bad certificate. */
  const lenient = (port: number) => new NodeClient({ name: 'lenient', host: '127.0.0.1', port }, { host: '127.0.0.1', port, username: stack.user, password: stack.password, tls: { rejectUnauthorized: false }, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  /** Makes every node load `cert` (CONFIG SET of a tls-* setting reloads the certificates). */
  async function presentEverywhere(cert: string): Promise<void> {
    for (const node of stack.nodes) {
      const client = lenient(node.port)
      try {
        await client.connect()
        await client.config('SET', 'tls-cert-file', cert, 'tls-key-file', stack.tls!.nodeKey)
      } finally {
        client.disconnect()
      }
    }
  }

  beforeAll(async () => {
    // RC_TLS=1, the certificates made by `secrets:tls`
    test = await createTestStack({ tls: true })
    stack = test.load()
    const up = await runCli('init/up', [], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
  })
  afterAll(() => test?.cleanup())

  it('secrets:tls: a CA, a node and a client certificate, keys 0600, SANs cover 127.0.0.1; creates only what is missing, overwrites nothing', async () => {
    const tls = stack.tls!
    renameSync(tls.clientCert, `${tls.clientCert}.old`)
    renameSync(tls.clientKey, `${tls.clientKey}.old`)
    const made = await runCli('security/secrets-tls', ['--json'], test.env)
    expect(made.exitCode, made.stderr).toBe(0)
    expect(JSON.parse(made.stdout)).toMatchObject({ created: [tls.clientCert, tls.clientKey], days: 365, keyMode: '0600' })
    const fresh = await runCli('security/secrets-tls', [], { ...test.env, RC_SECRETS_DIR: join(test.dir, 'other-secrets') })
    expect(fresh.stdout, fresh.stderr).toMatch(/created \S+other-secrets\/tls\/node\.crt \(until \d{4}-\d\d-\d\d \(36\d days left\)\)/)
    expect(fresh.stdout).toMatch(/created \S+other-secrets\/tls\/node\.key \(private key, mode 0600\)/)
    // the compose file's network addresses too, for the day compose speaks TLS
    expect(fresh.stdout).toMatch(/the node certificate covers IP:127\.0\.0\.1, IP:172\.19\.0\.\d+, .*DNS:localhost, DNS:redis-node-0/)
    for (const key of [tls.caKey, tls.nodeKey, tls.clientKey]) expect((statSync(key).mode & 0o777).toString(8), key).toBe('600')
    const text = execFileSync('openssl', ['x509', '-in', tls.nodeCert, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' })
    expect(text).toMatch(/IP Address:127\.0\.0\.1/)
    expect(text).toMatch(/DNS:localhost/)
    const before = readFileSync(tls.nodeCert)
    const again = await runCli('security/secrets-tls', ['--days', '1'], test.env)
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toMatch(/every TLS file exists/)
    expect(readFileSync(tls.nodeCert)).toEqual(before)
    // compose's containers read the keys as group 999 (RC_TLS itself is local-only for now)
    const compose = await runCli('security/secrets-tls', [], { ...test.env, RC_TLS: '0', RC_RUNTIME: 'compose', RC_SECRETS_DIR: join(test.dir, 'compose-secrets') })
    expect(compose.exitCode, compose.stderr).toBe(0)
    const composeKey = statSync(join(test.dir, 'compose-secrets/tls/node.key'))
    expect([(composeKey.mode & 0o777).toString(8), composeKey.gid]).toEqual(['640', 999])
    const bad = await runCli('security/secrets-tls', ['--days', '0'], test.env)
    expect([bad.exitCode, bad.stderr]).toEqual([2, expect.stringMatching(/--days '0' is not a number of days/)])
  })

  it('up formed a healthy cluster over TLS: status ok, plaintext port off, a plaintext client fails', async () => {
    const status = await runCli('monitor/status', [], test.env)
    expect(status.exitCode, status.stdout + status.stderr).toBe(0)
    const client = await connectNode(stack, stack.nodes[0]!)
    try {
      expect(await client.config('GET', 'port')).toEqual(['port', '0'])
      expect(await client.config('GET', 'tls-port')).toEqual(['tls-port', String(stack.nodes[0]!.port)])
    } finally {
      client.disconnect()
    }
    const plain = { ...stack, tls: undefined }
    await expect(connectNode(plain, stack.nodes[0]!)).rejects.toThrow(/redis-node-0/)
    // a second `up` on the running nodes finds them on their ports (tls-port), changes nothing
    const again = await runCli('init/up', [], test.env)
    expect(again.exitCode, again.stderr).toBe(0)
  })

  it('backup, logical and physical restore round trip over TLS (redis-cli --rdb --tls, the restore pipe, nodes restarted with TLS)', async () => {
    const cluster = connectCluster(stack)
    try {
      await Promise.all(Array.from({ length: 500 }, (_, i) => cluster.set(`tls:${i}`, `v${i}`)))
      const backup = await runCli('backup/backup', ['--json'], env())
      expect(backup.exitCode, backup.stderr).toBe(0)
      expect(JSON.parse(backup.stdout).keys).toBe(500)
      await Promise.all(Array.from({ length: 500 }, (_, i) => cluster.del(`tls:${i}`)))
      const restore = await runCli('backup/restore', ['latest', '--logical', '--yes', '--json'], env())
      expect(restore.exitCode, restore.stderr).toBe(0)
      expect(JSON.parse(restore.stdout)).toMatchObject({ restored: 500 })
      expect(await cluster.get('tls:499')).toBe('v499')
      await cluster.set('tls:after', 'not in the backup')
    } finally {
      cluster.disconnect()
    }
    const physical = await runCli('backup/restore', ['latest', '--physical', '--yes'], env())
    expect(physical.exitCode, physical.stderr).toBe(0)
    const after = connectCluster(stack)
    try {
      expect([await after.get('tls:499'), await after.get('tls:after')]).toEqual(['v499', null])
    } finally {
      after.disconnect()
    }
    expect((await runCli('monitor/status', [], test.env)).exitCode).toBe(0)
  })

  it('security:audit: tls PASS with the expiry; FAIL naming the node with a plaintext port open; PASS again once closed', async () => {
    const audit = async () => {
      const run = await runCli('security/security-audit', ['--json'], test.env)
      return { run, tls: (JSON.parse(run.stdout) as AuditReport).checks.find((c) => c.id === 'tls')! }
    }
    const pass = await audit()
    expect(pass.tls, pass.run.stderr).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/TLS only on all 6 nodes.*node\.crt until \d{4}-\d\d-\d\d \(36\d days left\)/) })
    const [spare] = await allocatePorts(1)
    const client = await connectNode(stack, stack.nodes[2]!)
    try {
      await client.config('SET', 'port', String(spare))
      const fail = await audit()
      expect(fail.run.exitCode).toBe(1)
      expect(fail.tls).toMatchObject({ status: 'FAIL', detail: `redis-node-2: plaintext port ${spare} open`, fix: expect.stringMatching(/pnpm run down && pnpm run up/) })
      // the toolkit (RC_TLS=1) dialling a plaintext port: Redis reads the TLS hello as an inline command and waits for its
      // end, as a paused node would (75); when the hello's random bytes hold a newline it answers an error in plaintext (78)
      const plaintext = await connectNode(stack, { ...stack.nodes[2]!, port: spare! }).then(
        (connected) => {
          connected.disconnect()
          throw new Error('a TLS client got through to a plaintext port')
        },
        (error: RcError) => error,
      )
      const where = `redis-node-2 (127.0.0.1:${spare})`
      expect([[75, `${where} did not answer the TLS handshake in time`], [78, `${where} does not speak TLS (RC_TLS=1, yet it answers in plaintext)`]]).toContainEqual([plaintext.exitCode, plaintext.message])
      expect(`${plaintext.message} ${plaintext.hint}`).toMatch(/plaintext/)
    } finally {
      await client.config('SET', 'port', '0')
      client.disconnect()
    }
    expect((await audit()).tls.status).toBe('PASS')
    // a private key others may read
    chmodSync(stack.tls!.nodeKey, 0o644)
    try {
      expect((await audit()).tls).toMatchObject({ status: 'FAIL', detail: `${stack.tls!.nodeKey} is readable by every user of this host (mode 0644)`, fix: expect.stringMatching(/^chmod 600/) })
    } finally {
      chmodSync(stack.tls!.nodeKey, 0o600)
    }
  })

  it('a node certificate expiring within 30 days passes the audit with a warning', async () => {
    const soon = join(test.dir, 'soon.crt')
    signNodeCert(stack, soon, { days: 1, san: 'IP:127.0.0.1' })
    copyFileSync(stack.tls!.nodeCert, join(test.dir, 'good.crt'))
    copyFileSync(soon, stack.tls!.nodeCert)
    try {
      // node.crt alone is not what the nodes present: the audit names each node until it loads the file
      const unloaded = (JSON.parse((await runCli('security/security-audit', ['--json'], test.env)).stdout) as AuditReport).checks.find((c) => c.id === 'tls')!
      expect(unloaded).toMatchObject({ status: 'FAIL', detail: expect.stringContaining(`redis-node-0: presents another certificate than ${stack.tls!.nodeCert}`) })
      await presentEverywhere(stack.tls!.nodeCert)
      const run = await runCli('security/security-audit', ['--json'], test.env)
      const tls = (JSON.parse(run.stdout) as AuditReport).checks.find((c) => c.id === 'tls')!
      expect(tls).toMatchObject({ status: 'PASS', note: expect.stringMatching(/renew soon: \S+node\.crt until \S+ \(0 days left\)/) })
    } finally {
      copyFileSync(join(test.dir, 'good.crt'), stack.tls!.nodeCert)
      await presentEverywhere(stack.tls!.nodeCert)
    }
  })

  it.each([
    // redis-cli 7.0 (hiredis) checks the chain and dates, never the host name: only the toolkit's own clients catch the second
    ['an expired node certificate', { days: -1, san: 'IP:127.0.0.1' }, /its TLS certificate has expired \(CERT_HAS_EXPIRED\)/, true],
    ['a node certificate for another host', { days: 30, san: 'DNS:elsewhere.example' }, /does not name this address \(ERR_TLS_CERT_ALTNAME_INVALID/, false],
    ['a node certificate not from the CA', { days: 30, san: 'IP:127.0.0.1', selfSigned: true }, /its TLS certificate is not signed by the CA \S+ca\.crt \(DEPTH_ZERO_SELF_SIGNED_CERT\)/, true],
  ])('%s: commands exit 78 naming the node and the certificate file', async (_, cert, message, cliChecks) => {
    const bad = join(test.dir, 'bad.crt')
    signNodeCert(stack, bad, cert)
    copyFileSync(stack.tls!.nodeCert, join(test.dir, 'good.crt'))
    copyFileSync(bad, stack.tls!.nodeCert)
    await presentEverywhere(stack.tls!.nodeCert)
    try {
      for (const command of ['monitor/status', 'security/security-audit']) {
        const run = await runCli(command, [], test.env)
        expect(run.exitCode, `${command}: ${run.stderr}`).toBe(78)
        expect(run.stderr).toMatch(message)
        expect(run.stderr).toMatch(new RegExp(`redis-node-\\d \\(127\\.0\\.0\\.1:\\d+\\).*${stack.tls!.nodeCert.replace(/[.]/g, '\\.')}`))
      }
      // redis-cli (pnpm cli, backups) only says its handshake failed: the same exit code, naming the node and the files
      const cli = await runCli('compose/cli', ['--', '-p', String(stack.nodes[1]!.port), 'ping'], test.env)
      expect(cli.exitCode, cli.stderr).toBe(cliChecks ? 78 : 0)
      if (cliChecks) expect(cli.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${stack.nodes[1]!.port}.*TLS handshake failed.*node certificate ${stack.tls!.nodeCert.replace(/[.]/g, '\\.')}`))
    } finally {
      copyFileSync(join(test.dir, 'good.crt'), stack.tls!.nodeCert)
      await presentEverywhere(stack.tls!.nodeCert)
    }
    expect((await runCli('monitor/status', [], test.env)).exitCode).toBe(0)
  })

  it('an expired client certificate or one from another CA: exit 78 naming the client certificate file, before any node is dialled', async () => {
    const tls = stack.tls!
    const csr = join(test.dir, 'client.csr')
    execFileSync('openssl', ['req', '-new', '-key', tls.clientKey, '-subj', '/CN=expired toolkit', '-out', csr], { stdio: 'ignore' })
    copyFileSync(tls.clientCert, join(test.dir, 'good-client.crt'))
    const file = tls.clientCert.replace(/[.]/g, '\\.')
    try {
      execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', tls.ca, '-CAkey', tls.caKey, '-set_serial', String(Date.now()), '-days', '-1', '-out', tls.clientCert], { stdio: 'ignore' })
      const expired = await runCli('monitor/status', [], test.env)
      expect(expired.exitCode, expired.stdout + expired.stderr).toBe(78)
      expect(expired.stderr).toMatch(new RegExp(`^status: the toolkit's TLS client certificate ${file} expired on \\d{4}-\\d\\d-\\d\\d\n  fix: renew it from the CA: \`pnpm secrets:tls:renew --client-only\``))
      execFileSync('openssl', ['x509', '-req', '-in', csr, '-key', tls.clientKey, '-days', '30', '-out', tls.clientCert], { stdio: 'ignore' })
      const foreign = await runCli('monitor/status', [], test.env)
      expect(foreign.exitCode, foreign.stdout + foreign.stderr).toBe(78)
      expect(foreign.stderr).toMatch(new RegExp(`the toolkit's TLS client certificate ${file} is not signed by the CA`))
    } finally {
      copyFileSync(join(test.dir, 'good-client.crt'), tls.clientCert)
    }
  })

  it('tls check: SKIP on a plaintext stack (RC_TLS unset)', async () => {
    expect(await tlsCheck.run({ stack: { ...stack, tls: undefined } } as unknown as AuditContext)).toEqual({ skip: true, detail: expect.stringMatching(/RC_TLS is not set: the nodes speak plaintext/) })
  })
})
