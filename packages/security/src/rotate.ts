import { applyAcl, ConfigError, connectNode, isUserName, InternalError, UsageError, USER_NAMES, type AclSettings, type Credentials, type NodeClient, type Stack, type StackNode, type UserName } from '@redis-cluster/core'
import { existsSync } from 'node:fs'
import { composeAclFile, writeComposeAclFile } from '@redis-cluster/compose'
import { createPending, discardPending, readRotationFiles, replaceSecret } from './_rotate-files.ts'
import { connectEveryNode, onEveryNode } from './_rotate-nodes.ts'
import { consumerNote, readsSecretAtStart, restartExporter } from './_rotate-consumers.ts'

export type RotateStepName = 'new password' | 'add' | 'verify' | 'move' | 'remove' | 'replace' | 'rollback'

/** One line of the output: a step, on one node or on the stack's files. */
export interface RotateStep {
  readonly step: RotateStepName
  readonly node?: string
  readonly detail: string
}

export interface RotateResult {
  readonly user: UserName
  /** rotated: done; pending: stopped by --keep-old (both passwords work); rolled back; nothing: --rollback with no rotation pending. */
  readonly outcome: 'rotated' | 'pending' | 'rolled back' | 'nothing'
  /** A `.next` was there: this run finished (or rolled back) an earlier one. */
  readonly resumed: boolean
  readonly secretFile: string
  readonly pendingFile: string
  readonly steps: readonly RotateStep[]
  readonly notes: readonly string[]
}

export interface RotateOptions {
  keepOld?: boolean
  rollback?: boolean
  progress?: (line: string) => void
}

/** The positional argument as a user name; UsageError naming the choices otherwise. */
export function parseUserName(name: string | undefined): UserName {
  if (name !== undefined && isUserName(name)) return name
  throw new UsageError(name === undefined ? 'which user? name the user whose password to rotate' : `unknown user '${name}'`, `use one of ${USER_NAMES.join(', ')}`)
}

type Users = NonNullable<Stack['users']>

/**
 * Changes one ACL user's password on every node with no moment in which a
 * client holding either password is refused (an authenticated connection is
 * never dropped by Redis when a password is removed):
 *   1. the new password goes to `<secret>.next` (the rotation's state);
 *   2. every node accepts both (ACL SETUSER via core's applyAcl, the same
 *      desired ACL `up` applies while `.next` exists), checked by logging in;
 *   3. what holds the password moves: masterauth for `replication`, the
 *      exporter container, this toolkit for its own user;
 *   4. every node accepts only the new one (and ACL SAVE), the old is checked refused;
 *   5. `.next` is renamed over the secret (for a consumer that reads the
 *      file only at start, the compose exporter, before 3 and 4: see
 *      readsSecretAtStart).
 * A re-run with `.next` present finishes from wherever the last one
 * stopped (each step is idempotent); --rollback puts the old password back.
 */
export async function rotatePassword(stack: Stack, user: UserName, { keepOld = false, rollback = false, progress = () => {} }: RotateOptions = {}): Promise<RotateResult> {
  if (keepOld && rollback) throw new UsageError('--keep-old and --rollback exclude each other', 'use one of them')
  const users = stack.users
  if (!users) {
    throw new ConfigError(`secrets:rotate changes passwords only on nodes this toolkit starts (RC_RUNTIME=${stack.runtime} has no ACL users of ours)`, "change the password with the cluster's own tools (ACL SETUSER), then update your secret file")
  }
  const files = readRotationFiles({ ...stack, users }, user, { rollback })
  const steps: RotateStep[] = []
  const record = (step: RotateStepName, detail: string) => {
    steps.push({ step, detail })
    progress(`${step}: ${detail}`)
  }
  /** A step on every node at once (all finish before a failure is thrown), recorded per node in node order. */
  const everyNode = async (step: RotateStepName, detail: string, work: (node: StackNode, index: number) => Promise<unknown>) => {
    await onEveryNode(stack.nodes, work)
    steps.push(...stack.nodes.map((node) => ({ step, node: node.name, detail })))
    progress(`${step}: ${detail} (${stack.nodes.length} nodes)`)
  }
  const result = (outcome: RotateResult['outcome'], notes: string[] = []): RotateResult => ({ user, outcome, resumed: files.pending, secretFile: files.secretFile, pendingFile: files.pendingFile, steps, notes })
  if (rollback && !files.pending) return result('nothing', [`no rotation of ${user} is pending (${files.pendingFile} does not exist)`])

  // The toolkit's own user: in an interrupted rotation a node may know only one of the two passwords.
  const own = (password: string): Credentials => ({ user: stack.user, password, tls: stack.tls })
  const candidates = user === stack.user && files.next !== undefined ? [own(files.next), own(files.current)] : [own(stack.password)]
  // Every node must answer before anything changes (a node that is down: 75, nothing touched).
  let clients = await connectEveryNode(stack, candidates)
  try {
    if (rollback) {
      // The old password alone again (masterauth back to it), then the rotation is forgotten.
      const only = aclWith(users, stack.acl, user)([files.current])
      await everyNode('rollback', 'accepts only the old password again (ACL saved)', (_, i) => applyAndSave(clients[i]!, only))
      await keepComposeAclFile(stack, only)
      await discardPending(files)
      record('rollback', `deleted ${files.pendingFile}`)
      return result('rolled back')
    }
    let next = files.next
    if (next === undefined) {
      next = await createPending(files)
      record('new password', `written to ${files.pendingFile}`)
    } else record('new password', `resuming the rotation pending in ${files.pendingFile}`)
    const acl = aclWith(users, stack.acl, user)
    await everyNode('add', 'accepts the old and the new password', (_, i) => applyAcl(acl([files.current, next]), clients[i]!))
    await keepComposeAclFile(stack, acl([files.current, next]))
    await everyNode('verify', 'the new password logs in', (node) => checkLogin(node, { user, password: next, tls: stack.tls }, true))
    if (user === stack.user) {
      for (const client of clients) client.disconnect()
      clients = await connectEveryNode(stack, [own(next)])
    }
    if (user === 'replication') {
      // applyAcl points masterauth at the first password: the new one, while both are accepted.
      await everyNode('move', 'masterauth is the new password', (_, i) => applyAcl(acl([next, files.current]), clients[i]!))
    }
    const note = consumerNote(stack, user, files, keepOld)
    const notes = note ? [note] : []
    if (keepOld) return result('pending', [...notes, `both passwords work until \`pnpm secrets:rotate ${user}\` runs again and finishes the rotation`])
    if (readsSecretAtStart(stack, user)) {
      await replaceSecret(files)
      record('replace', `${files.secretFile} holds the new password`)
      record('move', await restartExporter(stack))
    }
    await everyNode('remove', 'accepts only the new password (ACL saved)', (_, i) => applyAndSave(clients[i]!, acl([next])))
    await keepComposeAclFile(stack, acl([next]))
    await everyNode('verify', 'the old password is refused', (node) => checkLogin(node, { user, password: files.current, tls: stack.tls }, false))
    if (!readsSecretAtStart(stack, user)) {
      await replaceSecret(files)
      record('replace', `${files.secretFile} holds the new password`)
    }
    return result('rotated', notes)
  } finally {
    for (const client of clients) client.disconnect()
  }
}

/** applyAcl, then ACL SAVE even when applyAcl changed nothing: a run interrupted before its save left the node's ACL file behind. */
async function applyAndSave(client: NodeClient, desired: Parameters<typeof applyAcl>[0]): Promise<void> {
  await applyAcl(desired, client)
  await client.call('ACL', 'SAVE')
}

/**
 * A compose stack's ACL file follows every step the nodes take: a container
 * that restarts (a crash, a chaos drill) copies it again at start
 * (start-node.sh), and must not come back with the passwords of the last `up`.
 */
async function keepComposeAclFile(stack: Stack, desired: Pick<Stack, 'users' | 'acl'>): Promise<void> {
  if (existsSync(composeAclFile(stack))) await writeComposeAclFile({ ...stack, ...desired })
}

/** The desired ACL (core's, what `up` applies) with this user's passwords replaced: the first is the one masterauth uses. */
function aclWith(users: Users, acl: AclSettings, user: UserName) {
  return (passwords: readonly string[]) => ({ users: { ...users, [user]: passwords }, acl })
}

/** Logs in as the user on one node: it must succeed (`accepted`) or be refused as a wrong password. */
async function checkLogin(node: StackNode, credentials: Credentials, accepted: boolean): Promise<void> {
  const client = await connectNode(credentials, node).catch((error: unknown) => {
    if (accepted || !(error instanceof ConfigError)) throw error
  })
  client?.disconnect()
  if (client && !accepted) throw new InternalError(`${node.name} still accepts ${credentials.user}'s old password after it was removed`, 'run the command again; report it if it persists')
}
