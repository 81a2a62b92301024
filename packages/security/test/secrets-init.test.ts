import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CONTAINER_UID, USER_NAMES, loadStack, userSecretFile } from '@redis-cluster/core'
import { REPO_ROOT, createTestStack, formTestStack, runCli } from '@redis-cluster/test-utils'
import { auditStack } from '../src/index.ts'
import { secretFilesCheck } from '../src/host-checks.ts'

describe('secrets:init', () => {
  let dir: string
  let secretsDir: string
  let env: Record<string, string>
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rc-secrets-init-'))
    secretsDir = join(dir, 'secrets')
    writeFileSync(join(dir, '.env'), '')
    // a fresh checkout: no secret at all, so loading the stack the usual way fails
    env = { RC_ROOT: REPO_ROOT, RC_ENV_FILE: join(dir, '.env'), RC_DATA_DIR: join(dir, 'data'), RC_SECRETS_DIR: secretsDir, RC_RUNTIME: 'local' }
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const modeOf = (file: string) => (statSync(file).mode & 0o777).toString(8)
  const read = (user: (typeof USER_NAMES)[number]) => readFileSync(userSecretFile(secretsDir, user), 'utf8')

  it('creates the five user secrets 0600 on a fresh dir (where every other command exits 78), and a second run keeps them', async () => {
    expect(() => loadStack({ env: { PATH: process.env.PATH, ...env } })).toThrow(/secret .*users\/admin\.txt is missing/)
    const first = await runCli('security/secrets-init', [], env)
    expect(first.exitCode, first.stderr).toBe(0)
    for (const user of USER_NAMES) {
      expect(first.stdout).toContain(`created ${userSecretFile(secretsDir, user)} (mode 0600)\n`)
      expect(modeOf(userSecretFile(secretsDir, user))).toBe('600')
      expect(read(user)).toMatch(/^[\w-]{32}$/)
    }
    expect(modeOf(join(secretsDir, 'users'))).toBe('700')
    expect(new Set(USER_NAMES.map(read)).size).toBe(5)
    expect(loadStack({ env: { PATH: process.env.PATH, ...env } }).users?.admin).toEqual([read('admin')])

    const before = USER_NAMES.map(read)
    const plain = await runCli('security/secrets-init', [], env)
    expect(plain.stdout).toBe(`every user has a secret in ${secretsDir} (kept as they are)\n`)
    const again = await runCli('security/secrets-init', ['--json'], env)
    expect(again.exitCode, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ created: [], kept: USER_NAMES.map((user) => userSecretFile(secretsDir, user)), mode: '0600', runtime: 'local' })
    expect(USER_NAMES.map(read)).toEqual(before)
  })

  it('never overwrites an existing secret: creates only the missing ones', async () => {
    mkdirSync(join(secretsDir, 'users'), { recursive: true })
    writeFileSync(userSecretFile(secretsDir, 'app'), 'the-apps-own-password', { mode: 0o600 })
    const result = await runCli('security/secrets-init', [], env)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(read('app')).toBe('the-apps-own-password')
    expect(result.stdout).not.toContain('created ' + userSecretFile(secretsDir, 'app'))
    expect(result.stdout).toContain(`kept ${userSecretFile(secretsDir, 'app')} (existing secrets are never overwritten)`)
    expect(result.stdout).toMatch(/^4 secret\(s\) created in /m)
  })

  it('migrates an older version\'s redis_password.txt to admin\'s secret and says running nodes need down && up', async () => {
    mkdirSync(secretsDir, { mode: 0o700 })
    writeFileSync(join(secretsDir, 'redis_password.txt'), 'the-one-old-password', { mode: 0o600 })
    const result = await runCli('security/secrets-init', [], env)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(read('admin')).toBe('the-one-old-password')
    expect(read('app')).not.toBe('the-one-old-password')
    expect(result.stdout).toContain(`migrated ${join(secretsDir, 'redis_password.txt')} (the one password of an older version) to the admin user's secret`)
    expect(result.stdout).toContain('run `pnpm run down && pnpm run up` once')
  })

  it('compose: 0640 with group 999, the containers\' redis user', async () => {
    const result = await runCli('security/secrets-init', ['--json'], { ...env, RC_RUNTIME: 'compose' })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ mode: '0640', runtime: 'compose' })
    for (const user of USER_NAMES) {
      const st = statSync(userSecretFile(secretsDir, user))
      expect([(st.mode & 0o777).toString(8), st.gid]).toEqual(['640', CONTAINER_UID])
    }
  })

  it('external runtime: creates nothing (the cluster\'s users are its own) and says so', async () => {
    // (core's loadStack still reads the toolkit's own secret on external, even with requireSecrets: false)
    writeFileSync(join(dir, 'outside.txt'), 'the-clusters-password', { mode: 0o600 })
    const result = await runCli('security/secrets-init', [], { ...env, RC_RUNTIME: 'external', RC_SEEDS: '127.0.0.1:1', RC_USER: 'default', RC_PASSWORD_FILE: join(dir, 'outside.txt') })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^secrets:init: nothing to do \(RC_RUNTIME=external: the cluster's users are its own; the toolkit's password is .*outside\.txt \(RC_PASSWORD_FILE\)\)$/m)
    expect(() => statSync(secretsDir)).toThrow()
  })

  it('what set-up does on the local runtime (secrets:init, then up) passes the audit\'s secret-files item', async () => {
    const test = await createTestStack()
    try {
      rmSync(join(test.dir, 'secrets'), { recursive: true })
      const init = await runCli('security/secrets-init', [], test.env)
      expect(init.exitCode, init.stderr).toBe(0)
      const stack = await formTestStack(test)
      expect((await auditStack(stack, [secretFilesCheck])).checks[0]).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/^admin\.txt, app\.txt, replication\.txt, exporter\.txt, backup\.txt, redis-node-0\/users\.acl, .*: mode 0600, owner \d+:\d+$/) })
    } finally {
      await test.cleanup()
    }
  })

  it('exits 78 naming the path when the secrets folder cannot be created', async () => {
    writeFileSync(join(dir, 'blocker'), '')
    const result = await runCli('security/secrets-init', [], { ...env, RC_SECRETS_DIR: join(dir, 'blocker', 'secrets') })
    expect(result.exitCode).toBe(78)
    expect(result.stderr).toMatch(/^secrets:init: cannot create .*blocker.*\n {2}fix: .*RC_SECRETS_DIR/)
  })
})
