import { CheckFailedError, ConfigError, RcError, TemporaryError } from './errors.ts'
import type { StackTls } from './stack.ts'

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
 * A certificate that fails TLS → 78 naming the certificate file (`tls`:
 * the stack's RC_TLS files, when known). An RcError passes through unchanged.
 */
export function describeRedisError(subject: ErrorSubject, error: unknown, command?: string, tls?: StackTls): RcError {
  if (error instanceof RcError) return error
  const where = describeSubject(subject)
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? /\b(E[A-Z]+)\b/.exec(message)?.[1]
  const what = command ? ` ${command.toUpperCase()}` : ''
  const tlsError = describeTlsError(where, code, message, tls)
  if (tlsError) return tlsError
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
    return new TemporaryError(`${where} closed the connection${what ? ` during${what}` : ''}`, 'the node may have stopped or restarted, or speak TLS only (then set RC_TLS=1): check `pnpm status`, then retry')
  }
  if (error instanceof Error && error.name === 'ReplyError') return new CheckFailedError(`${where} refused${what}: ${message}`)
  return new TemporaryError(`${where}: ${message}`)
}

/** An expired node certificate: renewed from the CA and loaded by every running node, without a restart. */
const RENEW = 'renew it without a restart: `pnpm secrets:tls:renew` (a new node certificate from the CA, loaded by every node)'
/** A certificate the renewal cannot reach the nodes through (not for this address, not from this CA): new files and a restart. */
const REPLACE = 'move the old certificate and its key away, run `pnpm secrets:tls` (it creates what is missing), then `pnpm run down && pnpm run up`'

/**
 * TLS failures are configuration: retrying cannot help. Node's verification
 * codes (ioredis, the restore pipe) say which check failed; redis-cli only
 * says "SSL_connect failed". The node's certificate is the file named: every
 * node presents the same one (secrets:tls), and it is what the toolkit checks.
 */
function describeTlsError(where: string, code: string | undefined, message: string, tls: StackTls | undefined): RcError | undefined {
  if (tls?.remote) return describeRemoteTlsError(where, code, message, tls)
  const nodeCert = tls ? ` (${tls.nodeCert})` : ''
  const ca = tls ? ` ${tls.ca}` : ''
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return new ConfigError(`${where}: its TLS certificate has expired (CERT_HAS_EXPIRED)${nodeCert}`, RENEW)
    case 'CERT_NOT_YET_VALID':
      return new ConfigError(`${where}: its TLS certificate is not valid yet (CERT_NOT_YET_VALID)${nodeCert}`, "check this host's clock, or " + REPLACE)
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return new ConfigError(`${where}: its TLS certificate does not name this address (ERR_TLS_CERT_ALTNAME_INVALID: no such SAN)${nodeCert}`, `the node certificate's SANs must cover every node address: ${REPLACE}`)
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_SIGNATURE_FAILURE':
      return new ConfigError(`${where}: its TLS certificate is not signed by the CA${ca} (${code})${nodeCert}`, `give the nodes a certificate from this CA: ${REPLACE}`)
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return new ConfigError(`${where} does not speak TLS (RC_TLS=1, yet it answers in plaintext)`, 'restart the nodes with TLS: `pnpm run down && pnpm run up` (or unset RC_TLS)')
  }
  if (code?.startsWith('ERR_SSL_') && /ALERT_(CERTIFICATE_EXPIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN)/.test(code)) {
    return new ConfigError(`${where} rejects the toolkit's TLS client certificate (${code})${tls ? `: ${tls.clientCert}` : ''}`, "the client certificate must be valid and from the nodes' CA: `pnpm secrets:tls:renew --client-only` makes a new one")
  }
  // A plaintext node takes the TLS hello for the start of an inline command and waits for its end: a pause looks the same
  if (tls && /connect ETIMEDOUT/.test(message)) {
    return new TemporaryError(`${where} did not answer the TLS handshake in time`, 'the node may be paused or overloaded, or still speak plaintext (RC_TLS=1 needs the nodes restarted with TLS: `pnpm run down && pnpm run up`)')
  }
  const handshake = /SSL_connect failed: (.*)$/.exec(message)
  if (handshake) return new ConfigError(`${where}: TLS handshake failed (${handshake[1]})${tls ? `; node certificate ${tls.nodeCert}, CA ${tls.ca}` : ''}`, `check the certificates with \`pnpm security:audit\`; an expired one: ${RENEW}`)
  return undefined
}

const REMOTE_CA = (tls: StackTls) => `${tls.ca} must be the CA that signed the cluster's node certificates (or its chain), and each node's certificate must name the address it announces`

/**
 * The external runtime: each node's certificate is the cluster's own, not a
 * file of the toolkit's; what the toolkit can get wrong is its CA file (whom
 * it trusts) and its client certificate (what it presents).
 */
function describeRemoteTlsError(where: string, code: string | undefined, message: string, tls: StackTls): RcError | undefined {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return new ConfigError(`${where}: its TLS certificate is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'} (${code})`, "renew the node's certificate on its host (or check this host's clock)")
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return new ConfigError(`${where}: its TLS certificate does not name this address (ERR_TLS_CERT_ALTNAME_INVALID: no such SAN)`, "the node's certificate must name the address it announces (add it to its SANs)")
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_SIGNATURE_FAILURE':
      return new ConfigError(`${where}: its TLS certificate is not signed by the CA ${tls.ca} (${code})`, REMOTE_CA(tls))
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return new ConfigError(`${where} does not speak TLS (RC_TLS=1, yet it answers in plaintext)`, 'RC_SEEDS must name the nodes\' TLS ports (or unset RC_TLS for a plaintext cluster)')
  }
  if (code?.startsWith('ERR_SSL_') && /ALERT_(CERTIFICATE_EXPIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN)/.test(code)) {
    return new ConfigError(`${where} rejects the toolkit's TLS client certificate (${code}): ${tls.clientCert}`, `put a client certificate the nodes' tls-ca-cert-file accepts in ${tls.clientCert} and ${tls.clientKey}`)
  }
  if (/connect ETIMEDOUT/.test(message)) {
    return new TemporaryError(`${where} did not answer the TLS handshake in time`, 'the node may be paused or overloaded, or speak plaintext on this port (RC_SEEDS must name the TLS ports)')
  }
  const handshake = /SSL_connect failed: (.*)$/.exec(message)
  if (handshake) return new ConfigError(`${where}: TLS handshake failed (${handshake[1]}); CA ${tls.ca}, client certificate ${tls.clientCert}`, REMOTE_CA(tls))
  return undefined
}
