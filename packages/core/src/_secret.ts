import { existsSync, readFileSync, statSync } from 'node:fs'
import { CONTAINER_UID } from './user-secrets.ts'
import { join, resolve } from 'node:path'
import type { Settings } from './settings.ts'
import { USER_NAMES, pendingSecretFile, trimSecret, secretFileOf, userSecretFile, type UserName, type UserPasswords } from './users.ts'

export type SecretResult =
  | { password: string; notice?: string }
  | { problem: string; hint: string }

/**
 * Reads the password secret. Trailing whitespace (a final newline, or CRLF from
 * a file edited on Windows) is trimmed, and said so, because Redis would
 * otherwise take it as part of the password.
 */
export function readSecret(file: string): SecretResult {
  let raw: string
  try {
    raw = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT'
      ? { problem: `password secret ${file} is missing`, hint: 'run `pnpm secrets:init` to create the missing secrets (or copy secrets.example/)' }
      : { problem: `cannot read password secret ${file} (${code})`, hint: `check the file's permissions` }
  }
  const password = trimSecret(raw)
  if (!password) return { problem: `password secret ${file} is empty`, hint: 'put a password in it, or delete it and run `pnpm secrets:init`' }
  if (/[\s"']/.test(password)) {
    return { problem: `password secret ${file} contains whitespace or quotes`, hint: 'use a password of letters, digits and punctuation only' }
  }
  const trimmed = raw.slice(password.length)
  const notice = trimmed ? `trimmed ${trimmed.includes('\r') ? 'a CRLF line ending' : 'trailing whitespace'} from ${file}` : undefined
  return notice ? { password, notice } : { password }
}

export interface StackSecrets {
  /** The toolkit's own password file and password ('' when not read). */
  readonly ownFile: string
  readonly ownPassword: string
  readonly users: UserPasswords | undefined
  readonly problems: readonly string[]
  /** The fix, when every problem is a secret's. */
  readonly hint: string | undefined
  readonly notices: readonly string[]
}

export const isUserName = (name: string): name is UserName => (USER_NAMES as readonly string[]).includes(name)

/**
 * Reads the secrets a stack needs: `all` users' (a stack whose nodes we
 * start: their ACL is built from them), only the toolkit's `own` (external),
 * or `none`. RC_PASSWORD_FILE, when set, is the toolkit's user's secret: one
 * file, never two that could disagree. A pending rotation's new password
 * (`.next`) is read too: the ACL accepts both until the rotation ends.
 */
export function readStackSecrets({ root, secretsDir, settings, required }: { root: string; secretsDir: string; settings: Settings; required: 'all' | 'own' | 'none' }): StackSecrets {
  const own = isUserName(settings.user) ? settings.user : undefined
  const ownFile = settings.passwordFile ? resolve(root, settings.passwordFile) : own ? userSecretFile(secretsDir, own) : ''
  // 'auto' may turn out compose: its secrets are not warned about before the runtime is known
  const forContainers = settings.runtime === 'compose' || settings.runtime === 'auto'
  const none = { ownFile, ownPassword: '', users: undefined, problems: [], hint: undefined, notices: [] }
  if (!ownFile) return { ...none, problems: [`RC_USER='${settings.user}' is not one of the toolkit's users (${USER_NAMES.join(', ')}): set RC_PASSWORD_FILE to its password file`] }
  if (required === 'none') return none
  const fileOf = (user: UserName) => secretFileOf({ user: own ?? '', secretFile: ownFile, secretsDir }, user)
  const reads = [...(required === 'all' ? USER_NAMES.map((user) => ({ user: user as UserName | undefined, file: fileOf(user) })) : []), ...(required === 'all' && own ? [] : [{ user: own, file: ownFile }])]
  const results = reads.map(({ user, file }) => ({ user, file, result: readSecret(file) }))
  const problems: string[] = []
  const notices: string[] = []
  let hint: string | undefined
  const users = {} as Record<UserName, string[]>
  for (const { user, file, result } of results) {
    if ('problem' in result) {
      problems.push(result.problem)
      hint ??= result.hint
      continue
    }
    if (result.notice) notices.push(result.notice)
    const loose = looseSecret(file, { forContainers })
    if (loose) notices.push(`${loose.problem}: chmod 600 it (compose: chgrp ${CONTAINER_UID} and chmod 640)`)
    if (!user) continue
    const next = existsSync(pendingSecretFile(secretsDir, user)) ? readSecret(pendingSecretFile(secretsDir, user)) : undefined
    users[user] = next && 'password' in next ? [result.password, next.password] : [result.password]
  }
  const legacy = join(secretsDir, 'redis_password.txt')
  if (problems.length > 0 && required === 'all' && !existsSync(join(secretsDir, 'users')) && existsSync(legacy)) {
    hint = `${legacy} is the one password of an older version: run \`pnpm secrets:init\` (admin keeps that password), then \`pnpm run down && pnpm run up\``
  }
  const ownResult = results.find((r) => r.file === ownFile)?.result
  const ownPassword = ownResult && 'password' in ownResult ? ownResult.password : ''
  return { ownFile, ownPassword, users: required === 'all' && problems.length === 0 ? users : undefined, problems, hint, notices }
}

/**
 * Who else can read a secret file, or undefined when nobody should: 0600 or
 * stricter; `forContainers` (the compose runtime, whose containers' redis
 * user reads the bind-mounted secrets as group 999) also 0640 with group
 * CONTAINER_UID. `everyone`: any user of this host can; `readers` says who.
 */
export function looseSecret(file: string, { forContainers = false }: { forContainers?: boolean } = {}): { problem: string; everyone: boolean; readers: string } | undefined {
  let st
  try {
    st = statSync(file)
  } catch {
    return undefined // reading it reports the problem
  }
  const mode = st.mode & 0o777
  if ((mode & 0o077) === 0 || (forContainers && st.gid === CONTAINER_UID && (mode & 0o037) === 0)) return undefined
  const everyone = (mode & 0o007) !== 0
  const readers = everyone ? 'every user of this host' : `group ${st.gid}`
  return { problem: `${file} is readable by ${readers} (mode ${mode.toString(8).padStart(4, '0')})`, everyone, readers }
}
