import { createHash } from 'node:crypto'
import { join } from 'node:path'

/**
 * The ACL users of a stack, one per purpose, each with its own secret file
 * (`<secretsDir>/users/<name>.txt`). The rules here are THE declaration: the
 * ACL file every node loads, `up`'s re-apply and `security:audit`'s "no wider
 * than declared" all read them from this table.
 */
export const USER_NAMES = ['admin', 'app', 'replication', 'exporter', 'backup'] as const
export type UserName = (typeof USER_NAMES)[number]

/** Commands the app user never gets, whatever its categories allow (the list, kept explicit though most are in @dangerous). */
export const APP_DENIED_COMMANDS = ['flushall', 'flushdb', 'keys', 'config', 'debug'] as const

export interface AclSettings {
  /** RC_APP_KEY_PATTERN: the key patterns the app user may touch (space separated; default `*`). */
  readonly appKeyPatterns: readonly string[]
  /** RC_DEFAULT_USER=1: keep `default` on with the app's password and rules, for clients that cannot send a user name. */
  readonly defaultUser: boolean
}

const PERMISSIONS: Record<UserName, (acl: AclSettings) => readonly string[]> = {
  admin: () => ['~*', '&*', '+@all'],
  app: (acl) => [...acl.appKeyPatterns.map((p) => `~${p}`), '&*', '+@all', '-@admin', '-@dangerous', ...APP_DENIED_COMMANDS.map((c) => `-${c}`)],
  // What a replica sends its master (Redis' ACL docs): PSYNC, REPLCONF, PING.
  replication: () => ['+psync', '+replconf', '+ping'],
  // redis_exporter's documented minimum, narrowed to the subcommands it sends (no CLIENT KILL, no CONFIG SET, no EVAL);
  // CLIENT SETNAME: it names its connection on every scrape and logs a NOPERM error line per scrape without it (1.45).
  exporter: () => ['+ping', '+info', '+config|get', '+cluster|info', '+cluster|nodes', '+slowlog|get', '+slowlog|len', '+latency|latest', '+latency|histogram', '+client|list', '+client|info', '+client|setname', '+memory|stats', '+select', '+dbsize'],
  // Taking a backup: health's read (INFO, CLUSTER NODES/INFO, DBSIZE) and `redis-cli --rdb`, a replication-protocol pull.
  backup: () => ['+ping', '+info', '+dbsize', '+cluster|nodes', '+cluster|info', '+cluster|shards', '+sync', '+psync', '+replconf'],
}

/** A user's permissions as ACL rules (no state, no password): what it may run and touch. */
export function userPermissions(user: UserName, acl: AclSettings): readonly string[] {
  return PERMISSIONS[user](acl)
}

/** Redis stores and compares SHA-256 hex digests; the ACL file and ACL SETUSER carry only these (`#<hex>`). */
export function passwordHash(password: string): string {
  return createHash('sha256').update(password).digest('hex')
}

/** A secret file's content as a password: trailing CR/LF/blanks dropped (a final newline, a file saved on Windows), which Redis would take as part of it. */
export const trimSecret = (raw: string): string => raw.replace(/[\r\n\t ]+$/, '')

/** Where a user's secret lives. */
export function userSecretFile(secretsDir: string, user: UserName): string {
  return join(secretsDir, 'users', `${user}.txt`)
}

/**
 * Where a user's secret is read from: the toolkit's own user's is its
 * password file (RC_PASSWORD_FILE when set), any other's userSecretFile.
 */
export function secretFileOf(stack: { readonly user: string; readonly secretFile: string; readonly secretsDir: string }, user: UserName): string {
  return user === stack.user ? stack.secretFile : userSecretFile(stack.secretsDir, user)
}

/** A pending rotation's new password, next to the secret (secrets:rotate writes it first, so a crash never loses it). */
export function pendingSecretFile(secretsDir: string, user: UserName): string {
  return `${userSecretFile(secretsDir, user)}.next`
}

/** The passwords each user must be accepted with: its secret, and a pending rotation's new one. */
export type UserPasswords = Readonly<Record<UserName, readonly string[]>>

/**
 * How a replica authenticates to its master, as config name/value pairs (a
 * node's config file lines, or CONFIG SET): as the replication user with
 * its first password (mid-rotation, the new one). A cluster without the
 * toolkit's users (external: one password for all) gets masterauth with
 * that one password.
 */
export function replicationAuth(stack: { readonly users: UserPasswords }): [name: string, value: string][]
export function replicationAuth(stack: { readonly users: UserPasswords | undefined; readonly password: string }): [name: string, value: string][]
export function replicationAuth(stack: { readonly users: UserPasswords | undefined; readonly password?: string }): [name: string, value: string][] {
  if (stack.users) return [['masteruser', 'replication'], ['masterauth', stack.users.replication[0]!]]
  return [['masterauth', stack.password!]]
}

/**
 * The ACL as rule lists, one per user, in ACL SETUSER syntax after `reset`
 * (which is also how a line of an ACL file starts). `default` is off unless
 * RC_DEFAULT_USER asks for it, and then it is the app user under another name.
 */
export function desiredAcl(passwords: UserPasswords, acl: AclSettings): ReadonlyMap<string, readonly string[]> {
  const rules = new Map<string, readonly string[]>()
  const hashes = (user: UserName) => passwords[user].map((p) => `#${passwordHash(p)}`)
  rules.set('default', acl.defaultUser ? ['on', ...hashes('app'), ...userPermissions('app', acl)] : ['off'])
  for (const user of USER_NAMES) rules.set(user, ['on', ...hashes(user), ...userPermissions(user, acl)])
  return rules
}

/** The ACL file every node loads at start (`aclfile`): hashes only, identical on all nodes. */
export function renderAclFile(passwords: UserPasswords, acl: AclSettings): string {
  return [...desiredAcl(passwords, acl)].map(([user, rules]) => `user ${user} ${rules.join(' ')}\n`).join('')
}
