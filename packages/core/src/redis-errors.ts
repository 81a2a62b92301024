import { CheckFailedError, ConfigError, RcError, TemporaryError } from './errors.ts'

/** What an error is about: `redis-node-2 (127.0.0.1:6381)`, or `10.0.0.5:6379` when that is its name (external runtime). */
export interface ErrorSubject {
  readonly name: string
  readonly host: string
  readonly port: number
  /** A node this toolkit did not start, dialled at its announced address (external runtime): errors say how it could not be reached, not that it is "not running". */
  readonly remote?: boolean
}

/** A node as messages name it. */
export const describeSubject = ({ name, host, port }: ErrorSubject): string => (name.endsWith(`:${port}`) ? name : `${name} (${host}:${port})`)

/**
 * The one place where Redis reply errors and socket errors become typed
 * errors (and so exit codes): auth → 78; refused, timeout, LOADING, TRYAGAIN,
 * CLUSTERDOWN, a dropped connection → 75; MISCONF (the node cannot persist)
 * and any other refusal → 1, naming the node, the command and Redis' words.
 * An RcError passes through unchanged.
 */
export function describeRedisError(subject: ErrorSubject, error: unknown, command?: string): RcError {
  if (error instanceof RcError) return error
  const where = describeSubject(subject)
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? /\b(E[A-Z]+)\b/.exec(message)?.[1]
  const what = command ? ` ${command.toUpperCase()}` : ''
  if (/WRONGPASS|invalid password|NOAUTH|invalid username-password/i.test(message)) {
    return new ConfigError(`${where} rejects the password in the secret file`, 'the node has another password for this user: restore the old secret (change passwords with `pnpm secrets:rotate USER`), or set RC_USER to the user the cluster has')
  }
  // redis-cli's refusals come without the command: Redis' own words name it
  if (/^NOPERM/.test(message)) return new ConfigError(`${where} denies${what || ' a command'} to this user: ${message}`, 'give the user the permission in the ACL, or run as another user (RC_USER, RC_PASSWORD_FILE)')
  if (code === 'ECONNREFUSED' && subject.remote) return new TemporaryError(`${where} refuses connections (connection refused: down, or not listening on the address it announces)`, `check the node on its host, and that this host reaches ${subject.host}:${subject.port}`)
  if (code === 'ECONNREFUSED') return new TemporaryError(`${where} is not running (connection refused)`, 'start the stack with `pnpm run up`')
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ConfigError(`${where}: host ${subject.host} cannot be resolved`, 'check the address in the configuration')
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new TemporaryError(`${where} is unreachable (${code})`, 'check the network between this host and the node')
  if ((code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) && subject.remote) {
    return new TemporaryError(`${where} did not answer${what} in time (timeout)`, `the node may be paused or overloaded, or a firewall drops traffic from this host to ${subject.host}:${subject.port}`)
  }
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) {
    return new TemporaryError(`${where} did not answer${what} in time`, 'the node may be paused (SIGSTOP, docker pause) or overloaded: check it, then retry')
  }
  if (/^LOADING/.test(message)) return new TemporaryError(`${where} is loading its dataset into memory`, 'wait until it finished loading, then retry')
  if (/^(TRYAGAIN|CLUSTERDOWN|MASTERDOWN)/.test(message)) return new TemporaryError(`${where}${what}: ${message}`, 'the cluster is changing or degraded: check `pnpm status`, then retry')
  if (/^MISCONF/.test(message)) {
    return new CheckFailedError(`${where} cannot persist its data and refuses writes: ${message}`, 'free disk space or fix the permissions of its data dir (see its log: `pnpm logs --node ' + subject.name + '`)')
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /Connection is closed|Stream isn't writeable/i.test(message)) {
    return new TemporaryError(`${where} closed the connection${what ? ` during${what}` : ''}`, 'the node may have stopped or restarted: check `pnpm status`, then retry')
  }
  if (error instanceof Error && error.name === 'ReplyError') return new CheckFailedError(`${where} refused${what}: ${message}`)
  return new TemporaryError(`${where}: ${message}`)
}
