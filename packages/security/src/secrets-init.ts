import { isAbsolute, relative } from 'node:path'
import { CONTAINER_UID, USER_NAMES, describeFsError, ensureUserSecrets, userSecretFile, type Stack, type UserName } from '@redis-cluster/core'
import { selectRuntime, type Runtime } from '@redis-cluster/compose'

export interface SecretsInitResult {
  readonly secretsDir: string
  /** Where the nodes run: compose's containers read the files through bind mounts, so they get group 999. */
  readonly runtime: Runtime['name']
  /** The mode new files got ('' when none were needed: the external runtime). */
  readonly mode: '0600' | '0640' | ''
  readonly created: readonly string[]
  readonly kept: readonly string[]
  /** The older version's one-password secret that became admin's. */
  readonly migratedFrom?: string
  /** Why nothing was created (the external runtime's users are its own). */
  readonly skipped?: string
}

/**
 * Creates each ACL user's missing secret (core's ensureUserSecrets: random,
 * never overwriting). Compose bind-mounts the files into containers whose
 * redis user (CONTAINER_UID) must read them: 0640 group 999 there, 0600
 * elsewhere; `auto` asks the same question `up` will (selectRuntime), so the
 * files fit the runtime the stack is about to start on.
 */
export async function initSecrets(stack: Stack, { notice }: { notice?: (line: string) => void } = {}): Promise<SecretsInitResult> {
  const shown = (file: string) => {
    const inRoot = relative(stack.root, file)
    return inRoot && !inRoot.startsWith('..') && !isAbsolute(inRoot) ? inRoot : file
  }
  if (stack.runtime === 'external') {
    return { secretsDir: stack.secretsDir, runtime: 'external', mode: '', created: [], kept: [], skipped: `RC_RUNTIME=external: the cluster's users are its own; the toolkit's password is ${shown(stack.secretFile)} (RC_PASSWORD_FILE)` }
  }
  const runtime = stack.runtime === 'compose' ? 'compose' : (await selectRuntime(stack, { notice })).name
  const forContainers = runtime === 'compose'
  const ensured = await ensureUserSecrets(stack.secretsDir, { forContainers }).catch((error: unknown) => {
    throw describeFsError(error, { otherwise: 'point RC_SECRETS_DIR at another directory' })
  })
  const files = (users: readonly UserName[]) => users.map((user) => shown(userSecretFile(stack.secretsDir, user)))
  return {
    secretsDir: stack.secretsDir,
    runtime,
    mode: forContainers ? '0640' : '0600',
    created: files(ensured.created),
    kept: files(USER_NAMES.filter((user) => !ensured.created.includes(user))),
    ...(ensured.migratedFrom ? { migratedFrom: shown(ensured.migratedFrom) } : {}),
  }
}

/** Which files it created (and kept), the migration and what it asks of running nodes. */
export function renderSecretsInit(result: SecretsInitResult): string {
  if (result.skipped) return `secrets:init: nothing to do (${result.skipped})`
  const mode = result.mode === '0640' ? `mode 0640, group ${CONTAINER_UID}: the containers' redis user reads them` : 'mode 0600'
  return [
    ...result.created.map((file) => `created ${file} (${mode})`),
    ...(result.created.length > 0 && result.kept.length > 0 ? [`kept ${result.kept.join(', ')} (existing secrets are never overwritten)`] : []),
    ...(result.migratedFrom
      ? [
          `migrated ${result.migratedFrom} (the one password of an older version) to the admin user's secret: the toolkit keeps its password`,
          'nodes started before this still have that one password and no ACL users: run `pnpm run down && pnpm run up` once',
        ]
      : []),
    result.created.length > 0 ? `${result.created.length} secret(s) created in ${result.secretsDir}` : `every user has a secret in ${result.secretsDir} (kept as they are)`,
  ].join('\n')
}
