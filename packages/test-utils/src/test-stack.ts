import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ensureUserSecrets, loadStack, userSecretFile, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { formCluster } from '@redis-cluster/init'
import { allocatePorts } from './ports.ts'
import { REPO_ROOT } from './paths.ts'
import { runCli } from './run-cli.ts'

export interface TestStack {
  readonly dir: string
  /** The environment a command needs to act on this stack (and not on the user's). */
  readonly env: Record<string, string>
  readonly ports: readonly number[]
  readonly password: string
  /** Loads the stack as a command would, with extra env on top. */
  load(extra?: Record<string, string>): Stack
  /** Stops every process of this stack and deletes its files; safe to call twice. */
  cleanup(): Promise<void>
}

export interface CreateTestStackOptions {
  /** The admin user's secret file content; default a random password. (Every other user gets a random one.) */
  secret?: string
  /**
   * RC_TLS=1 with its certificates made by `pnpm secrets:tls` in the stack's secrets dir. Default: as the
   * environment says (`RC_TLS=1 npx vitest run ...` runs a suite's local stacks over TLS), or env's RC_TLS.
   */
  tls?: boolean
  env?: Record<string, string>
}

/** A throwaway local stack: own ports, own data dir, own secret, the repo's compose file and redis.conf. */
export async function createTestStack({ secret, env = {}, tls = (env.RC_TLS ?? process.env.RC_TLS) === '1' }: CreateTestStackOptions = {}): Promise<TestStack> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-test-'))
  const password = secret ?? randomBytes(12).toString('hex')
  const secretsDir = join(dir, 'secrets')
  await ensureUserSecrets(secretsDir, { passwords: { admin: password } })
  // An .env of its own (empty), so compose is always given --env-file and never reads compose/.env (the checkout's .env).
  writeFileSync(join(dir, '.env'), '')
  const ports = await allocatePorts(6)
  const stackEnv: Record<string, string> = {
    RC_ROOT: REPO_ROOT,
    RC_ENV_FILE: join(dir, '.env'),
    RC_DATA_DIR: join(dir, 'data'),
    RC_BACKUP_DIR: join(dir, 'backups'),
    RC_RUNTIME: 'local',
    RC_TIMEOUT_MS: '30000',
    RC_SECRETS_DIR: secretsDir,
    // The toolkit's password file, named so a test can point it elsewhere (a wrong or missing secret).
    RC_PASSWORD_FILE: userSecretFile(secretsDir, 'admin'),
    ...Object.fromEntries(ports.flatMap((p, i) => [[`REDIS${i}_PORT`, `${p}`], [`REDIS${i}_BUS_PORT`, `${p + 10000}`]])),
    RC_TLS: tls ? '1' : '0',
    ...env,
  }
  if (tls) {
    const made = await runCli('security/secrets-tls', ['--quiet'], stackEnv)
    if (made.exitCode !== 0) {
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`secrets:tls for the test stack failed (exit ${made.exitCode}): ${made.stderr}`)
    }
  }
  const load = (extra: Record<string, string> = {}) => loadStack({ env: { PATH: process.env.PATH, ...stackEnv, ...extra } })
  return {
    dir,
    env: stackEnv,
    ports,
    password: password.trim(),
    load,
    async cleanup() {
      try {
        await localRuntime.stop(load(), { purge: true })
      } catch {
        // the secret may be gone or broken on purpose in this test; stop by pidfile anyway below
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Starts a test stack's nodes and forms the cluster, as `up` does; returns the loaded stack. */
export async function formTestStack(test: TestStack): Promise<Stack> {
  const stack = test.load()
  await localRuntime.start(stack)
  await formCluster(stack, localRuntime)
  return stack
}
