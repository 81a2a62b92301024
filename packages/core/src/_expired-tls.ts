import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { AbstractConnector } from 'ioredis'

interface ConnectorOptions {
  readonly host: string
  readonly port: number
  readonly tls?: ConnectionOptions
  readonly connectTimeout?: number
  readonly disconnectTimeout?: number
}

/**
 * ioredis' connection to a node whose certificate may have EXPIRED: the one
 * connection `secrets:tls:renew` needs to make such a node load its renewed
 * certificate (everything else refuses it, as it must). Node's TLS cannot
 * skip the date check alone, so the handshake runs unverified and the
 * certificate is judged here, before ioredis sends a byte (AUTH carries the
 * password): a valid one as Node judges it; an expired one only if the CA
 * file's certificate signed it, the CA itself is valid and it names the
 * address dialled. Anything else fails with Node's own code, which
 * describeRedisError turns into the usual message naming the node.
 */
export class ExpiryTolerantConnector extends AbstractConnector {
  private readonly options: ConnectorOptions

  /** ioredis hands a connector its options (RedisOptions with its defaults): host, port, tls, the timeouts. */
  constructor(options: unknown) {
    const given = options as ConnectorOptions
    super(given.disconnectTimeout ?? 50)
    this.options = given
  }

  override connect(): Promise<TLSSocket> {
    const { host, port, tls, connectTimeout } = this.options
    this.connecting = true
    return new Promise((resolve, reject) => {
      const socket = connect({ ...tls, host, port, rejectUnauthorized: false })
      this.stream = socket
      const fail = (error: Error) => {
        socket.destroy()
        reject(error)
      }
      // ioredis arms its connect timeout only on a socket still connecting: this one resolves connected
      if (connectTimeout) socket.setTimeout(connectTimeout, () => fail(coded('connect ETIMEDOUT', 'ETIMEDOUT')))
      socket.once('error', fail)
      socket.once('secureConnect', () => {
        socket.setTimeout(0)
        socket.off('error', fail)
        if (!this.connecting) return fail(new Error('Connection is closed.'))
        const fault = judge(socket, tls?.ca, host)
        if (fault) return fail(coded(`certificate refused (${fault})`, fault))
        resolve(socket)
      })
    })
  }
}

/** Why the peer's certificate is refused (a Node/OpenSSL code), or undefined. */
function judge(socket: TLSSocket, ca: ConnectionOptions['ca'], host: string): string | undefined {
  if (socket.authorized) return undefined
  const code = String(socket.authorizationError)
  if (code !== 'CERT_HAS_EXPIRED') return code
  const peer = socket.getPeerX509Certificate()
  const authority = caCertificate(ca)
  const now = Date.now()
  if (!peer || !authority || !peer.checkIssued(authority) || !peer.verify(authority.publicKey)) return 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  if (Date.parse(authority.validTo) <= now) return 'CERT_HAS_EXPIRED'
  if (Date.parse(peer.validFrom) > now || Date.parse(authority.validFrom) > now) return 'CERT_NOT_YET_VALID'
  if (!(isIP(host) ? peer.checkIP(host) : peer.checkHost(host))) return 'ERR_TLS_CERT_ALTNAME_INVALID'
  return undefined
}

function caCertificate(ca: ConnectionOptions['ca']): X509Certificate | undefined {
  const first = Array.isArray(ca) ? ca[0] : ca
  try {
    return first === undefined ? undefined : new X509Certificate(first)
  } catch {
    return undefined
  }
}

const coded = (message: string, code: string) => Object.assign(new Error(message), { code })
