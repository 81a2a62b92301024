import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { USER_NAMES, connectNode, ensureUserSecrets, renderAclFile, tlsFiles, userSecretFile, waitFor, type UserName } from '@redis-cluster/core'
import { REPO_ROOT, TEST_IMAGE, allocatePorts, composeUnavailable, docker, runCli, shareSecretsWithContainers, shareWithContainers } from '@redis-cluster/test-utils'

// Two "hosts" (127.0.0.2 and 127.0.0.3: all of 127.0.0.0/8 is loopback), each running
// compose/docker-compose.node.yml as its own project with host networking, on the SAME three
// ports (each node binds its host's address only), joined into one six-node cluster by
// `cluster:create --seeds`, then operated through RC_RUNTIME=external; once in plaintext, once
// TLS only (docker-compose.node-tls.yml: client port, bus and replication over TLS).
const unavailable = composeUnavailable()
const FILE = join(REPO_ROOT, 'compose', 'docker-compose.node.yml')
const TLS_FILE = join(REPO_ROOT, 'compose', 'docker-compose.node-tls.yml')
const HOSTS = ['127.0.0.2', '127.0.0.3']

describe.skipIf(Boolean(unavailable)).each([{ tls: false }, { tls: true }])(`the per-host node stack, tls: $tls${unavailable ? ` (skipped: ${unavailable})` : ''}`, ({ tls }) => {
  const run = randomBytes(3).toString('hex')
  const projects = HOSTS.map((_, i) => `rc-node-${run}-${i}`)
  const dir = mkdtempSync(join(tmpdir(), 'rc-node-stack-'))
  // The same secrets on both hosts, as a user copies secrets/: every user's password and the ACL file the nodes load.
  const secretsDir = join(dir, 'secrets')
  const passwords = Object.fromEntries(USER_NAMES.map((user) => [user, randomBytes(12).toString('hex')])) as Record<UserName, string>
  const password = passwords.admin
  const certificates = tls ? tlsFiles(secretsDir) : undefined
  const tlsEnv: Record<string, string> = tls ? { RC_TLS: '1' } : {}
  let ports: number[] = []
  let composeCommand: string[] | undefined

  /** Compose for one host, with that host's variables and none of ours. */
  function compose(host: string, project: string | undefined, args: readonly string[]) {
    composeCommand ??= spawnSync('docker-compose', ['version'], { timeout: 30_000 }).status === 0 ? ['docker-compose'] : ['docker', 'compose']
    const [command, ...pre] = composeCommand
    const vars = Object.fromEntries(ports.flatMap((port, n) => [[`REDIS${n}_PORT`, String(port)], [`REDIS${n}_BUS_PORT`, String(port + 10000)]]))
    const env = { PATH: process.env.PATH!, ...(host ? { REDIS_HOST_ADDRESS: host } : {}), ...vars, REDIS_IMAGE: TEST_IMAGE, RC_SECRETS_DIR: secretsDir, REDIS_CLUSTER_NODE_TIMEOUT: '1000' }
    const files = ['-f', FILE, ...(tls ? ['-f', TLS_FILE] : [])]
    const r = spawnSync(command!, [...pre, ...(project ? ['-p', project] : []), ...files, ...args], { env, encoding: 'utf8', timeout: 180_000 })
    return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
  }

  beforeAll(async () => {
    ports = await allocatePorts(3)
    await ensureUserSecrets(secretsDir, { passwords })
    shareSecretsWithContainers(secretsDir)
    writeFileSync(join(dir, '.env'), '')
    // What the compose runtime's `up` writes on the toolkit's host (no toolkit stack runs here).
    const acl = join(secretsDir, 'users.acl')
    writeFileSync(acl, renderAclFile(Object.fromEntries(USER_NAMES.map((user) => [user, [passwords[user]]])) as Record<UserName, string[]>, { appKeyPatterns: ['*'], defaultUser: false }))
    shareWithContainers(acl) // hashes only
    if (certificates) {
      // As an operator would: on the toolkit's host, one node certificate naming every host's address.
      const env = { RC_ROOT: REPO_ROOT, RC_ENV_FILE: join(dir, '.env'), RC_RUNTIME: 'external', RC_SEEDS: HOSTS.map((h) => `${h}:${ports[0]}`).join(','), RC_SECRETS_DIR: secretsDir, ...tlsEnv }
      const made = await runCli('security/secrets-tls', ['--quiet', '--host', HOSTS.join(',')], env)
      expect(made.exitCode, made.stderr).toBe(0)
      shareWithContainers(certificates.nodeKey)
    }
  })
  afterAll(() => {
    for (const [i, project] of projects.entries()) {
      compose(HOSTS[i]!, project, ['down', '-v', '--remove-orphans', '-t', '1'])
      const label = `label=com.docker.compose.project=${project}`
      const containers = docker(['ps', '-aq', '--filter', label]).stdout.split('\n').filter(Boolean)
      if (containers.length) docker(['rm', '-f', '-v', ...containers])
      const volumes = docker(['volume', 'ls', '-q', '--filter', label]).stdout.split('\n').filter(Boolean)
      if (volumes.length) docker(['volume', 'rm', '-f', ...volumes])
    }
    rmSync(dir, { recursive: true, force: true })
  }, 120_000)

  it('validates with `config`, and without REDIS_HOST_ADDRESS says it must be set', () => {
    const valid = compose(HOSTS[0]!, undefined, ['config', '-q'])
    expect(valid.code, valid.stderr).toBe(0)
    const missing = compose('', undefined, ['config', '-q'])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toMatch(/set REDIS_HOST_ADDRESS to this host's address/)
  })

  it('two hosts of three nodes form one healthy six-node cluster with `cluster:create --seeds`; status reads it', { timeout: 300_000 }, async () => {
    for (const [i, project] of projects.entries()) {
      const up = compose(HOSTS[i]!, project, ['up', '-d'])
      expect(up.code, up.stderr).toBe(0)
    }
    const seeds = HOSTS.flatMap((host) => ports.map((port) => ({ host, port })))
    await waitFor(
      async () => {
        await Promise.all(seeds.map(async (seed) => (await connectNode({ user: 'admin', password, tls: certificates }, { name: `${seed.host}:${seed.port}`, ...seed })).disconnect()))
        return true
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'the six containers to answer PING' },
    )
    // No password is in any container's argv or environment.
    const ids = projects.flatMap((p) => docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${p}`]).stdout.split('\n').filter(Boolean))
    expect(ids).toHaveLength(6)
    const inspected = docker(['inspect', ...ids]).stdout
    for (const user of USER_NAMES) expect(inspected, user).not.toContain(passwords[user])

    // The toolkit authenticates as admin (RC_SECRETS_DIR's users/admin.txt).
    const env = { RC_ROOT: REPO_ROOT, RC_ENV_FILE: join(dir, '.env'), RC_DATA_DIR: join(dir, 'toolkit'), RC_SECRETS_DIR: secretsDir, RC_TIMEOUT_MS: '120000', RC_RUNTIME: 'local', ...tlsEnv }
    const created = await runCli('init/cluster-create', ['--seeds', seeds.map((s) => `${s.host}:${s.port}`).join(',')], env)
    expect(created.exitCode, created.stdout + created.stderr).toBe(0)
    expect(created.stdout).toMatch(/^cluster formed on 2 hosts: 3 masters, 3 replicas, healthy; no replica on its master's host\n/)
    const lines = Object.fromEntries([...created.stdout.matchAll(/^(RC_RUNTIME|RC_SEEDS)=(.+)$/gm)].map((m) => [m[1]!, m[2]!]))
    expect(lines).toEqual({ RC_RUNTIME: 'external', RC_SEEDS: HOSTS.map((h) => `${h}:${ports[0]}`).join(',') })

    const status = await runCli('monitor/status', ['--json'], { ...env, ...lines })
    expect(status.exitCode, status.stderr).toBe(0)
    const nodes = JSON.parse(status.stdout).nodes as { node: string; up: boolean }[]
    expect(nodes.map((n) => n.node).sort()).toEqual(seeds.map((s) => `${s.host}:${s.port}`).sort())
    expect(nodes.every((n) => n.up)).toBe(true)
    expect(readFileSync(userSecretFile(secretsDir, 'admin'), 'utf8').trim()).toBe(password)
    // the replicas sync with the replication user (start-node.sh's masteruser/masterauth)
    const replicas = await Promise.all(seeds.map(async (seed) => {
      const client = await connectNode({ user: 'admin', password, tls: certificates }, { name: `${seed.host}:${seed.port}`, ...seed })
      try {
        return (await client.info('replication')) as string
      } finally {
        client.disconnect()
      }
    }))
    const links = replicas.filter((info) => /^role:slave/m.test(info)).map((info) => /^master_link_status:(\w+)/m.exec(info)?.[1])
    expect(links).toEqual(['up', 'up', 'up'])
  })
})
