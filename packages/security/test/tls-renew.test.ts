import { execFileSync, spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { localRuntime } from '@redis-cluster/compose'
import { connectCluster, connectNode, parseInfo, waitForHealthy, type Stack, type StackTls } from '@redis-cluster/core'
import { REPO_ROOT, missingWrites, runCli, startWriter, useFormedStack } from '@redis-cluster/test-utils'
import { readPresentedCertificate } from '../src/tls-node-certs.ts'
import type { AuditReport, RenewResult } from '../src/index.ts'

const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256

/** A new key and a certificate from a CA (the stack's) in `dir` (as node.* or client.*); `days` may be negative: already expired. */
function signWithCa(ca: Pick<StackTls, 'ca' | 'caKey'>, dir: string, name: 'node' | 'client', days: number, san = 'IP:127.0.0.1,DNS:localhost'): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true })
  const [cert, key, csr, ext] = ['crt', 'key', 'csr', 'ext'].map((suffix) => join(dir, `${name}.${suffix}`)) as [string, string, string, string]
  writeFileSync(ext, name === 'node' ? `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n` : 'extendedKeyUsage=clientAuth\n')
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], { stdio: 'ignore' })
  execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=test ${name}`, '-out', csr], { stdio: 'ignore' })
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.ca, '-CAkey', ca.caKey, '-set_serial', String(Date.now()), '-days', String(days), '-extfile', ext, '-out', cert], { stdio: 'ignore' })
  return { cert, key }
}

describe('secrets:tls:renew (local runtime, RC_TLS=1)', () => {
  const formed = useFormedStack({ tls: true })
  const renew = (args: string[] = [], env: Record<string, string> = {}) => runCli('security/secrets-tls-renew', ['--json', ...args], { ...formed.test.env, ...env })
  /** Each node's process id and run_id: a restart changes both. */
  const processes = async (stack: Stack) =>
    Promise.all(
      stack.nodes.map(async (node) => {
        const client = await connectNode(stack, node)
        try {
          const info = parseInfo(await client.info('server'))
          return `${info.process_id} ${info.run_id}`
        } finally {
          client.disconnect()
        }
      }),
    )
  const auditTls = async () => {
    const audit = await runCli('security/security-audit', ['--json'], formed.test.env)
    return (JSON.parse(audit.stdout) as AuditReport).checks.find((c) => c.id === 'tls')!
  }
  const presented = async (stack: Stack) => (await Promise.all(stack.nodes.map(readPresentedCertificate))).map((p) => ('fingerprint' in p ? p.fingerprint : p.problem))
  /** Makes every node present what node.crt/node.key hold now, as an operator's CONFIG SET would. */
  async function loadOnNodes(stack: Stack, nodes = stack.nodes): Promise<void> {
    for (const node of nodes) {
      const client = await connectNode(stack, node)
      try {
        await client.config('SET', 'tls-cert-file', stack.tls!.nodeCert, 'tls-key-file', stack.tls!.nodeKey)
      } finally {
        client.disconnect()
      }
    }
  }

  it('renews both certificates under a running writer: 0 failed writes, every node presents the new one (--days 30), same processes; status and the audit healthy', async () => {
    const { stack } = formed
    const tls = stack.tls!
    const before = { processes: await processes(stack), node: fingerprint(tls.nodeCert), client: fingerprint(tls.clientCert) }
    expect(await presented(stack)).toEqual(stack.nodes.map(() => before.node))
    const cluster = connectCluster(stack)
    try {
      const writer = startWriter(cluster, 'renew')
      const run = await renew(['--days', '30'])
      const acked = await writer.stop()
      expect(run.exitCode, run.stderr).toBe(0)
      const result = JSON.parse(run.stdout) as RenewResult
      expect(result).toMatchObject({ resumed: false, inPlace: false, issued: [{ file: tls.nodeCert }, { file: tls.clientCert }], replaced: [tls.nodeKey, tls.nodeCert, tls.clientKey, tls.clientCert] })
      expect(result.nodes.map((n) => [n.node, n.reloaded])).toEqual(stack.nodes.map((n) => [n.name, true]))
      expect(writer.failures).toEqual([])
      expect(acked.size).toBeGreaterThan(0)
      expect(await missingWrites(cluster, acked)).toEqual([])
      // the connections opened before the renewal still work
      expect(await cluster.set('renew:after', 'ok')).toBe('OK')
    } finally {
      cluster.disconnect()
    }
    const node = new X509Certificate(readFileSync(tls.nodeCert))
    expect(node.fingerprint256).not.toBe(before.node)
    expect(fingerprint(tls.clientCert)).not.toBe(before.client)
    expect(Date.parse(node.validTo) - Date.now()).toBeLessThan(31 * 86_400_000)
    expect(node.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(await presented(stack)).toEqual(stack.nodes.map(() => node.fingerprint256))
    expect(await processes(stack)).toEqual(before.processes)
    for (const key of [tls.nodeKey, tls.clientKey]) expect((statSync(key).mode & 0o777).toString(8), key).toBe('600')
    expect(readdirSync(tls.dir).filter((f) => f.startsWith('.'))).toEqual([])
    const status = await runCli('monitor/status', [], formed.test.env)
    expect(status.exitCode, status.stdout + status.stderr).toBe(0)
    const audit = await runCli('security/security-audit', ['--json'], formed.test.env)
    const check = (JSON.parse(audit.stdout) as AuditReport).checks.find((c) => c.id === 'tls')
    // 30 days: within the audit's 30-day warning, which now names the command
    expect(check, audit.stderr).toMatchObject({ status: 'PASS', note: expect.stringMatching(/renew soon: .*node\.crt until .*\(`pnpm secrets:tls:renew`/) })
  })

  it('already expired node and client certificates (status refuses the nodes): renewed, status healthy again', async () => {
    const { stack, test } = formed
    const tls = stack.tls!
    const made = join(test.dir, 'expired')
    const node = signWithCa(stack.tls!, made, 'node', -1)
    const client = signWithCa(stack.tls!, made, 'client', -1)
    for (const [from, to] of [[node.cert, tls.nodeCert], [node.key, tls.nodeKey]] as const) writeFileSync(to, readFileSync(from))
    await loadOnNodes(stack)
    const nodeExpired = await runCli('monitor/status', [], test.env)
    expect(nodeExpired.exitCode).toBe(78)
    expect(nodeExpired.stderr).toMatch(/its TLS certificate has expired \(CERT_HAS_EXPIRED\).*\n {2}fix: renew it without a restart: `pnpm secrets:tls:renew`/)
    for (const [from, to] of [[client.cert, tls.clientCert], [client.key, tls.clientKey]] as const) writeFileSync(to, readFileSync(from))
    const clientExpired = await runCli('monitor/status', [], test.env)
    expect(clientExpired.exitCode).toBe(78)
    expect(clientExpired.stderr).toMatch(/client certificate .*client\.crt expired on .*\n {2}fix: renew it from the CA: `pnpm secrets:tls:renew --client-only`/)
    const run = await renew()
    expect(run.exitCode, run.stderr).toBe(0)
    expect(await presented(stack)).toEqual(stack.nodes.map(() => fingerprint(tls.nodeCert)))
    const status = await runCli('monitor/status', [], test.env)
    expect(status.exitCode, status.stdout + status.stderr).toBe(0)
  })

  it('an interrupted renewal (secrets/tls/.renew there) is finished by a re-run, issuing nothing: staged files put in place; files in place: the nodes still presenting the old certificate reloaded', async () => {
    const { stack } = formed
    const tls = stack.tls!
    // Stopped after its commit point: the new pair waits in .renew/
    const staged = join(tls.dir, '.renew')
    mkdirSync(staged, { mode: 0o700 })
    const staging = fingerprint(signWithCa(stack.tls!, staged, 'node', 20).cert)
    const first = await renew()
    expect(first.exitCode, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ resumed: true, issued: [], replaced: [tls.nodeKey, tls.nodeCert] })
    expect(existsSync(staged)).toBe(false)
    expect(fingerprint(tls.nodeCert)).toBe(staging)
    expect(await presented(stack)).toEqual(stack.nodes.map(() => staging))
    // Stopped after the files were replaced, when one node had reloaded (a node down midway)
    const scratch = join(formed.test.dir, 'scratch')
    const next = signWithCa(stack.tls!, scratch, 'node', 20)
    mkdirSync(staged, { mode: 0o700 })
    writeFileSync(tls.nodeKey, readFileSync(next.key))
    writeFileSync(tls.nodeCert, readFileSync(next.cert))
    await loadOnNodes(stack, stack.nodes.slice(0, 1))
    // the audit does not judge the five by node.crt's dates: it names them, and the way to finish
    const unfinished = await auditTls()
    expect(unfinished).toMatchObject({ status: 'FAIL', fix: expect.stringContaining('`pnpm secrets:tls:renew` again') })
    for (const node of stack.nodes) expect(unfinished.detail.includes(`${node.name}: presents another certificate than ${tls.nodeCert}`), node.name).toBe(node !== stack.nodes[0])
    const second = await renew()
    expect(second.exitCode, second.stderr).toBe(0)
    const result = JSON.parse(second.stdout) as RenewResult
    expect(result).toMatchObject({ resumed: true, issued: [], replaced: [] })
    expect(result.nodes.map((n) => n.reloaded)).toEqual(stack.nodes.map((_, i) => i > 0))
    expect(fingerprint(tls.nodeCert)).toBe(fingerprint(next.cert))
    expect(await presented(stack)).toEqual(stack.nodes.map(() => fingerprint(next.cert)))
    expect(existsSync(staged)).toBe(false)
    expect(await auditTls()).toMatchObject({ status: 'PASS' })
    // every node reloaded, but the run stopped before it removed .renew/: a note, the re-run finishes
    mkdirSync(staged, { mode: 0o700 })
    expect(await auditTls()).toMatchObject({ status: 'PASS', note: expect.stringContaining(`${staged} is left from a renewal that did not finish`) })
    expect((await renew()).exitCode).toBe(0)
    expect(existsSync(staged)).toBe(false)
  })

  it('Ctrl-C once the nodes answered: a re-run completes the renewal', async () => {
    const { stack, test } = formed
    const tls = stack.tls!
    // the command as users run it, stopped by SIGINT as soon as it starts changing things
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'run.mjs'), 'security', 'secrets-tls-renew'], { cwd: join(REPO_ROOT, 'packages', 'security'), env: { ...process.env, ...test.env }, stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('nodes answer')) child.kill('SIGINT')
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    // 130: stopped; 0: it finished before the signal landed
    expect([0, 130]).toContain(code)
    const again = await renew()
    expect(again.exitCode, again.stderr).toBe(0)
    expect(await presented(stack)).toEqual(stack.nodes.map(() => fingerprint(tls.nodeCert)))
    expect(existsSync(join(tls.dir, '.renew'))).toBe(false)
    expect((await runCli('monitor/status', [], test.env)).exitCode).toBe(0)
  })

  it('a node that does not take the new certificate: 75 naming it and the nodes that have it; the re-run finishes', async () => {
    const { stack, test } = formed
    const tls = stack.tls!
    // the last node reads its certificate from a copy of the old one: its reload cannot load the new one
    const copy = join(test.dir, 'copy.crt')
    writeFileSync(copy, readFileSync(tls.nodeCert))
    const last = stack.nodes.at(-1)!
    const client = await connectNode(stack, last)
    try {
      await client.config('SET', 'tls-cert-file', copy)
      const run = await renew()
      expect(run.exitCode, run.stderr).toBe(75)
      const others = stack.nodes.slice(0, -1).map((n) => n.name).join(', ')
      // the new key does not fit the old certificate there: Redis refuses the reload and keeps presenting the old one
      expect(run.stderr).toContain(`${tls.nodeCert} is renewed, but not every node presents it: ${last.name} (127.0.0.1:${last.port}) refused CONFIG`)
      expect(run.stderr).toContain(`; ${others} present it`)
      expect(run.stderr).toMatch(/fix: start or resume the nodes named .*then run `pnpm secrets:tls:renew` again/)
      expect(existsSync(join(tls.dir, '.renew'))).toBe(true)
      await client.config('SET', 'tls-cert-file', tls.nodeCert)
    } finally {
      client.disconnect()
    }
    const again = await renew()
    expect(again.exitCode, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ resumed: true, issued: [] })
    expect(existsSync(join(tls.dir, '.renew'))).toBe(false)
  })

  it('an expired certificate is reached only when the CA signed it and it names the address: otherwise 78 naming the node, nothing changed', async () => {
    const { stack, test } = formed
    const tls = stack.tls!
    const dir = join(test.dir, 'refused')
    mkdirSync(dir, { recursive: true })
    const other = { ca: join(dir, 'other-ca.crt'), caKey: join(dir, 'other-ca.key') }
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', other.caKey, '-subj', '/CN=another CA', '-days', '30', '-out', other.ca], { stdio: 'ignore' })
    const cases = [
      ['from another CA', signWithCa(other, join(dir, 'other'), 'node', -1), /its TLS certificate is not signed by the CA/],
      ['for another host', signWithCa(tls, join(dir, 'elsewhere'), 'node', -1, 'DNS:elsewhere.example'), /its TLS certificate does not name this address/],
    ] as const
    const node = stack.nodes[0]!
    // opened while the node's certificate is good, it stays open: the way back
    const keep = await connectNode(stack, node)
    try {
      for (const [what, pair, message] of cases) {
        await keep.config('SET', 'tls-cert-file', pair.cert, 'tls-key-file', pair.key)
        const files = [tls.nodeCert, tls.clientCert].map((file) => readFileSync(file))
        const run = await renew()
        expect(run.exitCode, `${what}: ${run.stderr}`).toBe(78)
        expect(run.stderr).toMatch(message)
        expect(run.stderr).toContain(`${node.name} (127.0.0.1:${node.port})`)
        expect([tls.nodeCert, tls.clientCert].map((file) => readFileSync(file))).toEqual(files)
      }
    } finally {
      await keep.config('SET', 'tls-cert-file', tls.nodeCert, 'tls-key-file', tls.nodeKey)
      keep.disconnect()
    }
  })

  it('external runtime: node renewal refused (2); --client-only renews the client certificate; the CA key missing: 78 naming it; conflicting flags: 2', async () => {
    const { stack } = formed
    const tls = stack.tls!
    const external = { RC_RUNTIME: 'external', RC_SEEDS: `127.0.0.1:${stack.nodes[0]!.port}` }
    const refused = await renew([], external)
    expect(refused.exitCode, refused.stderr).toBe(2)
    expect(refused.stderr).toMatch(/RC_RUNTIME=external: the node certificates are on the nodes' hosts.*\n {2}fix: .*`--client-only` renews the toolkit's own client certificate/)
    const node = readFileSync(tls.nodeCert)
    const client = fingerprint(tls.clientCert)
    const renewed = await renew(['--client-only'], external)
    expect(renewed.exitCode, renewed.stderr).toBe(0)
    expect(JSON.parse(renewed.stdout)).toMatchObject({ issued: [{ file: tls.clientCert }], replaced: [tls.clientKey, tls.clientCert], nodes: [] })
    expect(fingerprint(tls.clientCert)).not.toBe(client)
    expect(readFileSync(tls.nodeCert)).toEqual(node)
    renameSync(tls.caKey, `${tls.caKey}.away`)
    try {
      const missing = await renew()
      expect([missing.exitCode, missing.stderr]).toEqual([78, expect.stringContaining(`${tls.caKey} is missing: the certificates are renewed from the CA, with its key`)])
    } finally {
      renameSync(`${tls.caKey}.away`, tls.caKey)
    }
    const both = await renew(['--client-only', '--node-only'])
    expect([both.exitCode, both.stderr]).toEqual([2, expect.stringContaining('--client-only and --node-only exclude each other')])
  })

  it('a node that is down: 75 before anything changes', async () => {
    const { stack, test } = formed
    const tls = stack.tls!
    const files = [tls.nodeCert, tls.nodeKey, tls.clientCert, tls.clientKey].map((file) => readFileSync(file))
    const node = stack.nodes.at(-1)!
    await localRuntime.stop({ ...test.load(), nodes: [node] }, { purge: false })
    try {
      const run = await renew()
      expect(run.exitCode, run.stderr).toBe(75)
      expect(run.stderr).toContain(`${node.name} (127.0.0.1:${node.port}) is not running`)
      expect([tls.nodeCert, tls.nodeKey, tls.clientCert, tls.clientKey].map((file) => readFileSync(file))).toEqual(files)
      expect(readdirSync(tls.dir).filter((f) => f.startsWith('.'))).toEqual([])
    } finally {
      await localRuntime.start(test.load())
    }
    await waitForHealthy(test.load(), undefined, { timeoutMs: 30_000 })
  })
})
