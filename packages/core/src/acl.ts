import { ConfigError } from './errors.ts'
import { connectAll, type Credentials, type NodeClient } from './redis.ts'
import type { Stack } from './stack.ts'
import { desiredAcl, replicationAuth, type UserName } from './users.ts'

/**
 * A view of the stack as another ACL user, for what runs as that user (a
 * backup as `backup`). Where the toolkit knows only its own secret (the
 * external runtime: an outside cluster's users are its own), the stack itself.
 */
export function asUser<S extends Credentials & Pick<Stack, 'users'>>(stack: S, user: UserName): S {
  const password = stack.users?.[user]?.[0]
  return password === undefined ? stack : { ...stack, user, password }
}

/** Not `reset`: that also sets sanitize-payload, which a user loaded from the ACL file lacks, so every `up` would see a change. */
const CLEAR = ['resetpass', 'resetkeys', 'resetchannels', '-@all', 'clearselectors']

/**
 * Makes one node's ACL what the secrets and settings declare (users.ts),
 * then saves it to the node's ACL file, and points its replication at the
 * replication user. Each user is one ACL SETUSER that first clears what a
 * line of the ACL file starts without: atomic, so no client ever sees a user
 * half-defined, and idempotent, so `up` applies it every time and learns
 * whether anything changed by comparing ACL LIST before and after. Returns
 * whether it changed.
 */
export async function applyAcl(stack: Pick<Stack, 'users' | 'acl'>, client: NodeClient): Promise<boolean> {
  const users = stack.users
  if (!users) throw new ConfigError('the ACL users are unknown here (no user secrets loaded)', 'run on a stack this toolkit starts (local or compose)')
  const before = (await client.call('ACL', 'LIST')) as string[]
  for (const [user, rules] of desiredAcl(users, stack.acl)) await client.call('ACL', 'SETUSER', user, ...CLEAR, ...rules)
  await client.config('SET', ...replicationAuth({ users }).flat())
  const after = (await client.call('ACL', 'LIST')) as string[]
  const changed = before.join('\n') !== after.join('\n')
  if (changed) await client.call('ACL', 'SAVE')
  return changed
}

/** applyAcl on every node of the stack (all must answer: a node left with an old ACL is not "applied"); returns the names of the nodes it changed. */
export async function applyAclEverywhere(stack: Stack): Promise<string[]> {
  const clients = await connectAll(stack)
  try {
    const changed = await Promise.all(clients.map((client) => applyAcl(stack, client)))
    return stack.nodes.filter((_, i) => changed[i]).map((node) => node.name)
  } finally {
    for (const client of clients) client.disconnect()
  }
}
