import { randomBytes } from 'node:crypto'
import { CheckFailedError, type NodeClient } from '@redis-cluster/core'

/** One user as ACL GETUSER shows it (Redis 7: flags, passwords, commands, keys, channels, selectors). */
export interface ShownUser {
  readonly flags: readonly string[]
  readonly passwords: readonly string[]
  readonly commands: string
  readonly keys: readonly string[]
  readonly channels: readonly string[]
  readonly selectors: readonly unknown[]
}

/** How a node's user differs from its declaration: rules (ACL syntax) it has beyond it, and declared ones it lacks. */
export interface UserDrift {
  readonly missing: boolean
  readonly wider: readonly string[]
  readonly narrower: readonly string[]
}

const words = (value: unknown) => (typeof value === 'string' ? value.split(' ').filter(Boolean) : [])

function parseGetUser(reply: unknown): ShownUser | undefined {
  if (!Array.isArray(reply)) return undefined
  const field = (name: string) => reply[reply.indexOf(name) + 1] as unknown
  return {
    flags: (field('flags') as string[]) ?? [],
    passwords: (field('passwords') as string[]) ?? [],
    commands: String(field('commands') ?? ''),
    keys: words(field('keys')),
    channels: words(field('channels')),
    selectors: (field('selectors') as unknown[]) ?? [],
  }
}

/** `reply` of one command of a MULTI (ioredis' [error, result]); a refused command throws. */
function replyOf([error, result]: [Error | null, unknown]): unknown {
  if (error) throw error
  return result
}

/**
 * Compares `user` on one node with its declared rules (core's desiredAcl).
 * Redis rewrites rules as it stores them (`+@all -@admin -@dangerous` shows
 * as `+@all -@dangerous`), so the declaration is put into Redis' own words by
 * Redis: a throwaway user (new, `reset`, then the declared rules; `off`, so
 * nobody can log in as it) is created, read back and deleted in one MULTI:
 * no other client ever sees it and none is left behind. Where the commands
 * differ, ACL DRYRUN of every command (`COMMAND`) as both users names the
 * commands it may run beyond the declaration: rule lists can differ in
 * words and not in effect.
 */
export async function compareUser(client: NodeClient, user: string, declared: readonly string[]): Promise<UserDrift> {
  const probe = `rc-audit-${randomBytes(6).toString('hex')}`
  const rules = declared.map((rule) => (rule === 'on' ? 'off' : rule))
  const exec = async (between: string[][]) => {
    const multi = client.multi().call('ACL', 'SETUSER', probe, 'reset', ...rules)
    for (const command of between) multi.call(command[0]!, ...command.slice(1))
    const replies = (await multi.call('ACL', 'DELUSER', probe).exec()) ?? []
    replyOf(replies[0] as [Error | null, unknown])
    return replies.slice(1, -1) as [Error | null, unknown][]
  }
  const [want, have] = (await exec([['ACL', 'GETUSER', probe], ['ACL', 'GETUSER', user]])).map((r) => parseGetUser(replyOf(r)))
  if (!want) throw new CheckFailedError(`cannot read back the declared rules of ${user} (ACL GETUSER of a throwaway user failed)`)
  if (!have) return { missing: true, wider: [], narrower: [] }
  const beyond = (a: readonly string[], b: readonly string[]) => a.filter((x) => !b.includes(x))
  const wider = [
    ...(have.flags.includes('on') && !declared.includes('on') ? ['on'] : []),
    ...beyond(have.flags, want.flags).filter((f) => f === 'nopass'),
    ...beyond(have.passwords, want.passwords).map((hash) => `#${hash.slice(0, 12)}... (a password not in its secret)`),
    ...beyond(have.keys, want.keys),
    ...beyond(have.channels, want.channels),
    ...beyond(have.selectors.map(String), want.selectors.map(String)).map((s) => `(${s})`),
  ]
  const narrower = [
    ...(declared.includes('on') && !have.flags.includes('on') ? ['on'] : []),
    ...beyond(want.passwords, have.passwords).map((hash) => `#${hash.slice(0, 12)}... (its secret's password)`),
    ...beyond(want.keys, have.keys),
    ...beyond(want.channels, have.channels),
  ]
  if (have.commands !== want.commands) {
    const commands = await commandProbes(client)
    const replies = await exec(commands.flatMap(({ argv }) => [['ACL', 'DRYRUN', user, ...argv], ['ACL', 'DRYRUN', probe, ...argv]]))
    // a refused command's reply names it; OK or a key/channel refusal means the command itself is allowed
    const runs = (i: number) => {
      const [error, result] = replies[i]!
      return !error && !/permissions to run/.test(String(result))
    }
    commands.forEach(({ name }, i) => {
      if (runs(2 * i) && !runs(2 * i + 1)) wider.push(`+${name}`)
      if (!runs(2 * i) && runs(2 * i + 1)) narrower.push(`+${name}`)
    })
  }
  return { missing: false, wider, narrower }
}

interface CommandProbe {
  /** As ACL rules name it: `get`, `config|get`. */
  readonly name: string
  readonly argv: readonly string[]
}

const probesOf = new WeakMap<NodeClient, Promise<CommandProbe[]>>()

/**
 * Every command and subcommand this node knows, each with as many dummy
 * arguments as its arity asks (DRYRUN checks arity before permissions).
 */
function commandProbes(client: NodeClient): Promise<CommandProbe[]> {
  let probes = probesOf.get(client)
  if (!probes) {
    probes = (async () => {
      const table = (await client.call('COMMAND')) as unknown[][]
      const fill = (n: number) => Array.from({ length: Math.max(0, n) }, () => 'x')
      return table.flatMap((entry) => {
        const [name, arity, , , , , , , , subs] = entry as [string, number, ...unknown[]]
        const children = (Array.isArray(subs) ? subs : []) as [string, number][]
        if (children.length === 0) return [{ name, argv: [name, ...fill(Math.abs(arity) - 1)] }]
        return children.map(([full, subArity]) => ({ name: full, argv: [...full.split('|'), ...fill(Math.abs(subArity) - 2)] }))
      })
    })()
    probesOf.set(client, probes)
  }
  return probes
}
