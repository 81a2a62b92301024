import { X509Certificate } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { composeUnavailable, createComposeTestStack, docker, runCli, type ComposeTestStack } from '@redis-cluster/test-utils'
import { readPresentedCertificate } from '../src/tls-node-certs.ts'
import type { RenewResult } from '../src/index.ts'

// secrets:tls:renew on compose: the certificates are file secrets (bind mounts of single host files).
const unavailable = composeUnavailable()
if (unavailable && process.env.CI !== 'true') console.warn(`TLS renewal compose tests skipped: ${unavailable}`)

describe.skipIf(Boolean(unavailable) && process.env.CI !== 'true')('secrets:tls:renew (compose runtime)', () => {
  let test: ComposeTestStack
  beforeAll(async () => {
    test = await createComposeTestStack({ tls: true })
    const up = await runCli('init/up', [], test.env)
    expect(up.exitCode, `${up.stdout}${up.stderr}`).toBe(0)
  }, 240_000)
  afterAll(() => test?.cleanup(), 120_000)

  /** Each node container's id and start time: a restart or recreation changes it. */
  const containers = () =>
    test.load().nodes.map((node) => {
      const id = docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${test.project}`, '--filter', `label=com.docker.compose.service=${node.name}`]).stdout.trim()
      return { id, started: docker(['inspect', '--format', '{{.State.StartedAt}}', id]).stdout.trim() }
    })

  it('renews without restarting a container: the files written in place (the containers see them), every node presents the new certificate', async () => {
    const stack = test.load()
    const tls = stack.tls!
    const before = containers()
    const inodes = [tls.nodeCert, tls.nodeKey].map((file) => statSync(file).ino)
    const run = await runCli('security/secrets-tls-renew', ['--days', '30', '--json'], test.env)
    expect(run.exitCode, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout) as RenewResult
    expect(result).toMatchObject({ resumed: false, inPlace: true, replaced: [tls.nodeKey, tls.nodeCert, tls.clientKey, tls.clientCert] })
    expect(result.nodes.every((n) => n.reloaded)).toBe(true)
    const renewed = new X509Certificate(readFileSync(tls.nodeCert))
    expect(Date.parse(renewed.validTo) - Date.now()).toBeLessThan(31 * 86_400_000)
    const presented = await Promise.all(stack.nodes.map(readPresentedCertificate))
    expect(presented.map((p) => ('fingerprint' in p ? p.fingerprint : p.problem))).toEqual(stack.nodes.map(() => renewed.fingerprint256))
    expect(containers()).toEqual(before)
    // the same inodes, mode and group: the bind mounts show the new content
    expect([tls.nodeCert, tls.nodeKey].map((file) => statSync(file).ino)).toEqual(inodes)
    const key = statSync(tls.nodeKey)
    expect([(key.mode & 0o777).toString(8), key.gid]).toEqual(['640', 999])
    expect(docker(['exec', before[0]!.id, 'cat', '/run/secrets/tls_node_cert']).stdout).toBe(readFileSync(tls.nodeCert, 'utf8'))
    const status = await runCli('monitor/status', [], test.env)
    expect(status.exitCode, `${status.stdout}${status.stderr}`).toBe(0)
  }, 120_000)
})
