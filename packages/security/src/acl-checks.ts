import { desiredAcl, type NodeClient, type UserPasswords } from '@redis-cluster/core'
import { judgeNodes, type AuditCheck, type AuditContext, type Verdict } from './audit.ts'
import { compareUser } from './acl-compare.ts'
import { askNodes, configGet } from './node-checks.ts'

/** `up` makes every node's ACL and masteruser what core declares (applyAclEverywhere). */
const REAPPLY = '`pnpm run up` (it re-applies the declared ACL and masteruser on every node)'

/**
 * An ACL item judges the users the toolkit declares (local, compose: it has
 * every user's secret); on the external runtime the cluster's users are its
 * own, and the item says SKIP and why.
 */
function aclCheck(id: string, title: string, judge: (context: AuditContext, users: UserPasswords) => Promise<Verdict>): AuditCheck {
  return {
    id,
    title,
    run: async (context) => {
      const { users, runtime, user } = context.stack
      if (users) return judge(context, users)
      return { skip: true, detail: `${runtime} runtime: the cluster's users are its own (the toolkit knows only ${user}'s password), not the toolkit's declared ones` }
    },
  }
}

/** What `app` must never run (the list, and @admin ones), as ACL DRYRUN arguments. */
const DANGEROUS: readonly (readonly string[])[] = [['FLUSHALL'], ['FLUSHDB'], ['CONFIG', 'GET', 'x'], ['CONFIG', 'SET', 'x', 'y'], ['KEYS', '*'], ['DEBUG', 'HELP'], ['SHUTDOWN'], ['ACL', 'SETUSER', 'x'], ['CLUSTER', 'RESET'], ['MONITOR']]

/** Redis' glob (stringmatchlen) as a RegExp: `*`, `?`, `[...]` (`^` negates) and `\\` escapes. */
function globToRegExp(pattern: string): RegExp {
  const source = pattern.replace(/\\(.)|([*?])|(\[\^?)|([.+^${}()|\]\\/])/g, (_, escaped: string, wild: string, open: string, special: string) => {
    if (escaped !== undefined) return `\\${escaped}`
    if (wild) return wild === '*' ? '[\\s\\S]*' : '[\\s\\S]'
    if (open) return open === '[^' ? '[^' : '['
    return special === ']' ? ']' : `\\${special}`
  })
  return new RegExp(`^${source}$`)
}

/** A key none of the patterns matches (undefined when they match everything). */
export function keyOutside(patterns: readonly string[]): string | undefined {
  const matchers = patterns.map(globToRegExp)
  return ['rc-audit:outside', '~rc-audit~', '\u0001'].find((key) => !matchers.some((m) => m.test(key)))
}

async function dryRun(client: NodeClient, user: string, argv: readonly string[]): Promise<string> {
  try {
    return String(await client.call('ACL', 'DRYRUN', user, ...argv))
  } catch (error) {
    // a user the node lacks can run nothing; acl-users reports it missing
    if (/User '.*' not found/i.test((error as Error).message)) return 'missing'
    throw error
  }
}

export const appDeniedCheck = aclCheck('app-denied', 'app denied the dangerous commands and keys outside RC_APP_KEY_PATTERN', async (context) => {
  const { acl } = context.stack
  // RC_DEFAULT_USER=1 makes `default` the app user under another name
  const users = acl.defaultUser ? ['app', 'default'] : ['app']
  const outside = acl.appKeyPatterns.includes('*') ? undefined : keyOutside(acl.appKeyPatterns)
  const answers = await askNodes(context, async (client) => {
    const allowed: string[] = []
    for (const user of users) {
      for (const argv of DANGEROUS) if ((await dryRun(client, user, argv)) === 'OK') allowed.push(`${user} may run ${argv.join(' ')}`)
      if (outside !== undefined && (await dryRun(client, user, ['GET', outside])) === 'OK') allowed.push(`${user} reaches key ${JSON.stringify(outside)}, outside RC_APP_KEY_PATTERN (${acl.appKeyPatterns.join(' ')})`)
    }
    return allowed
  })
  const keys = outside !== undefined ? `, nor key ${JSON.stringify(outside)}` : ''
  return judgeNodes(
    answers.flatMap(({ node, answer }) => (answer.length > 0 ? [`${node}: ${answer.join(', ')}`] : [])),
    `${users.join(' and ')} may run none of ${DANGEROUS.map((argv) => argv[0]).filter((c, i, all) => all.indexOf(c) === i).join(', ')}${keys} on all ${answers.length} nodes (ACL DRYRUN)`,
    REAPPLY,
    outside === undefined ? 'RC_APP_KEY_PATTERN is `*` (the default): app may touch every key, as declared' : undefined,
  )
})

export const aclUsersCheck = aclCheck('acl-users', "each user's permissions no wider than declared", async (context, users) => {
  const declared = desiredAcl(users, context.stack.acl)
  const answers = await askNodes(context, async (client) => {
    const undeclared = ((await client.call('ACL', 'USERS')) as string[]).filter((name) => !declared.has(name))
    const wider = undeclared.map((name) => `undeclared user ${name}`)
    const missing: string[] = []
    const narrower: string[] = []
    for (const [user, rules] of declared) {
      const drift = await compareUser(client, user, rules)
      if (drift.missing) missing.push(`${user} missing`)
      if (drift.wider.length > 0) wider.push(`${user} has ${shorten(drift.wider)} beyond its declaration`)
      if (drift.narrower.length > 0) narrower.push(`${user} lacks ${shorten(drift.narrower)}`)
    }
    return { wider, missing, narrower, undeclared: undeclared.length > 0 }
  })
  const each = (pick: (a: (typeof answers)[number]['answer']) => string[]) => answers.flatMap(({ node, answer }) => pick(answer).map((line) => `${node}: ${line}`))
  const [wider, missing, narrower] = [each((a) => a.wider), each((a) => a.missing), each((a) => a.narrower)]
  const fix = `${REAPPLY}${answers.some(({ answer }) => answer.undeclared) ? '; an undeclared user: `ACL DELUSER <user>` then `ACL SAVE` on that node (pnpm cli)' : ''}`
  // narrower than declared is no hole (a toolkit command or a client may fail): a note; a missing user is a FAIL
  if (wider.length > 0 || missing.length > 0) return { pass: false, detail: [...wider, ...missing, ...narrower].join('; '), fix }
  return judgeNodes([], `${[...declared.keys()].join(', ')} as declared on all ${answers.length} nodes, and no other user`, fix, narrower.length > 0 ? `narrower than declared (commands may fail): ${narrower.join('; ')}; fix: ${REAPPLY}` : undefined)
})

/** At most a few rules, then how many more. */
function shorten(rules: readonly string[], max = 6): string {
  return rules.length <= max ? rules.join(' ') : `${rules.slice(0, max).join(' ')} and ${rules.length - max} more`
}

export const replicationUserCheck = aclCheck('replication-user', 'replicas authenticate as the replication user (masteruser)', async (context) => {
  const answers = await askNodes(context, (client) => configGet(client, 'masteruser'))
  return judgeNodes(
    answers.filter(({ answer }) => answer !== 'replication').map(({ node, answer }) => `${node}: masteruser ${answer ? JSON.stringify(answer) : 'unset'}`),
    `masteruser replication on all ${answers.length} nodes`,
    REAPPLY,
  )
})
