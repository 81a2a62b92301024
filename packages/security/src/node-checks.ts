import { parseInfo, type NodeClient } from '@redis-cluster/core'
import { judgeNodes, type AuditCheck, type AuditContext } from './audit.ts'
import { findVulnerabilities, upgradeTarget } from './vulnerable-versions.ts'

/** Asks every node the same question; answers in `stack.nodes` order, with the node's name. */
export async function askNodes<T>({ stack, clients }: AuditContext, ask: (client: NodeClient) => Promise<T>): Promise<{ node: string; answer: T }[]> {
  return Promise.all(stack.nodes.map(async (node, i) => ({ node: node.name, answer: await ask(clients[i]!) })))
}

/** `CONFIG GET name` on one node: its value ('' when the reply is empty). */
export async function configGet(client: NodeClient, name: string): Promise<string> {
  const reply = (await client.config('GET', name)) as string[]
  return reply[1] ?? ''
}

export const defaultUserCheck: AuditCheck = {
  id: 'default-user',
  title: 'default user disabled or protected by a password',
  async run(context) {
    const answers = await askNodes(context, async (client) => {
      const reply = (await client.call('ACL', 'GETUSER', 'default')) as unknown[]
      return reply[reply.indexOf('flags') + 1] as string[]
    })
    const on = ({ answer }: { answer: string[] }) => !answer.includes('off')
    const { stack } = context
    if (stack.users) {
      // ACL users: `default` (a login without a user name) is off, unless RC_DEFAULT_USER=1 keeps it on, as app, with app's password
      const open = answers.filter(on).flatMap(({ node, answer }) => {
        if (answer.includes('nopass')) return [`${node}: default user is on with nopass (anyone who connects is in)`]
        return stack.acl.defaultUser ? [] : [`${node}: default user is on (RC_DEFAULT_USER is not set: it should be off)`]
      })
      return judgeNodes(
        open,
        stack.acl.defaultUser ? `default user on with the app user's password and rules (RC_DEFAULT_USER=1) on all ${answers.length} nodes` : `default user off on all ${answers.length} nodes`,
        `\`pnpm run up\` (it re-applies the declared ACL: default off unless RC_DEFAULT_USER=1)`,
      )
    }
    // One password (requirepass): `off`, or on without `nopass` (it needs the password).
    const open = answers.filter((a) => on(a) && a.answer.includes('nopass')).map(({ node }) => `${node}: default user is on with nopass (anyone who connects is in)`)
    return judgeNodes(
      open,
      `default user has a password or is off on all ${answers.length} nodes`,
      'on each node named: `ACL SETUSER default resetpass ><the secret>` typed in `pnpm cli` (never in argv), or restart the node (its config sets requirepass)',
    )
  },
}

export const protectedModeCheck: AuditCheck = {
  id: 'protected-mode',
  title: 'protected-mode yes on every node',
  async run(context) {
    const answers = await askNodes(context, (client) => configGet(client, 'protected-mode'))
    const off = answers.filter(({ answer }) => answer !== 'yes').map(({ node, answer }) => `${node}: protected-mode ${answer || '(unknown)'}`)
    return judgeNodes(
      off,
      `protected-mode yes on all ${answers.length} nodes`,
      'on each node named: `CONFIG SET protected-mode yes` (pnpm cli), and remove any `protected-mode no` from conf/redis.conf so a restart keeps it',
    )
  },
}

const DAY_MS = 86_400_000

export const versionCheck: AuditCheck = {
  id: 'redis-version',
  title: 'Redis version not in the known-vulnerable list',
  async run(context) {
    const list = context.vulnerableList
    const answers = await askNodes(context, async (client) => parseInfo(await client.info('server')).redis_version ?? '')
    const nodesOf = new Map<string, string[]>()
    for (const { node, answer } of answers) nodesOf.set(answer, [...(nodesOf.get(answer) ?? []), node])
    const problems: string[] = []
    const targets = new Set<string>()
    for (const [version, nodes] of nodesOf) {
      const found = findVulnerabilities(version, list)
      if (found.length === 0) continue
      const where = nodes.length === answers.length ? `all ${nodes.length} nodes` : nodes.join(', ')
      problems.push(`redis ${version} on ${where}: ${found.map((v, i) => (i === 0 ? `${v.id} (${v.summary})` : v.id)).join(', ')}`)
      targets.add(upgradeTarget(version, list) ?? 'the newest release')
    }
    const age = Math.floor((Date.now() - Date.parse(list.updated)) / DAY_MS)
    return judgeNodes(
      problems,
      `redis ${[...nodesOf.keys()].join(', ')} on all ${answers.length} nodes: none in the list`,
      `upgrade Redis to ${[...targets].join(' / ')} or later (a distribution package keeps its version number when it backports a fix: check \`apt changelog redis-server\` for these CVE ids)`,
      `the known-vulnerable list was last updated ${list.updated} (${age} days ago); newer advisories are not in it`,
    )
  },
}
