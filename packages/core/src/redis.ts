import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import { Redis, Cluster, type Command, type RedisOptions } from 'ioredis'
import { ExpiryTolerantConnector } from './_expired-tls.ts'
import { ConfigError } from './errors.ts'
import { describeFsError } from './fs-errors.ts'
import { describeRedisError, type ErrorSubject } from './redis-errors.ts'
import { currentRun } from './run-context.ts'
import type { Stack, StackNode, StackTls } from './stack.ts'

export interface ConnectOptions {
  /** How long to wait for the TCP connection and AUTH. */
  connectTimeoutMs?: number
  /** How long any one command may wait for its reply (a paused node accepts TCP and never answers). */
  commandTimeoutMs?: number
  /** TLS: also accept a node certificate whose one fault is that it expired (secrets:tls:renew reloading such a node: _expired-tls.ts). */
  acceptExpiredCertificate?: boolean
}

export const CONNECT_TIMEOUT_MS = 2000
export const COMMAND_TIMEOUT_MS = 5000

/**
 * An ioredis client that knows which node it talks to: every command it
 * sends has a deadline, and a failed command rejects with the typed error of
 * describeRedisError naming the node and the command, never a bare ReplyError.
 */
export class NodeClient extends Redis {
  constructor(
    readonly subject: ErrorSubject,
    options: RedisOptions,
  ) {
    super(options)
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    // Typed at the source: callers that pass a callback (ioredis' own AUTH on
    // connect) never see the returned promise, so wrapping that would leak.
    const reject = command.reject
    command.reject = (error: Error) => reject(describeRedisError(this.subject, error, command.name))
    return super.sendCommand(command, stream)
  }
}

/** Who a client authenticates as: the stack's user (RC_USER), or another ACL user's view of it (asUser); and over TLS or not (RC_TLS). */
export type Credentials = Pick<Stack, 'user' | 'password' | 'tls'>

/** ioredis' AUTH options: `default` is Redis' user for AUTH without a name (a cluster with one password). */
const credentials = ({ user, password }: Credentials) => (user === 'default' ? { password } : { username: user, password })

/** TLS options per set of files: each file is read, and the client certificate checked, once per process. */
const tlsOptionsCache = new Map<string, ConnectionOptions>()

function readTlsFile(file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (error) {
    throw describeFsError(error, { otherwise: 'run `pnpm secrets:tls` (it creates missing certificates), or unset RC_TLS' })
  }
}

const RENEW_CLIENT = 'renew it from the CA: `pnpm secrets:tls:renew --client-only`'

/**
 * The toolkit's own certificate, checked before it is presented: under TLS
 * 1.3 a node refuses a bad client certificate only after the handshake, so
 * the client sees a bare "connection closed", not why.
 */
function checkClientCertificate(tls: StackTls, cert: Buffer, ca: Buffer): void {
  let own: X509Certificate
  let authority: X509Certificate
  try {
    own = new X509Certificate(cert)
    authority = new X509Certificate(ca)
  } catch {
    throw new ConfigError(`${tls.clientCert} or ${tls.ca} is not a PEM certificate`, RENEW_CLIENT)
  }
  const end = new Date(own.validTo)
  if (end.getTime() <= Date.now()) throw new ConfigError(`the toolkit's TLS client certificate ${tls.clientCert} expired on ${end.toISOString().slice(0, 10)}`, RENEW_CLIENT)
  // An outside cluster may trust clients from another CA, or an intermediate the CA file does not start with: there only its dates are checked
  if (!tls.remote && !own.verify(authority.publicKey)) throw new ConfigError(`the toolkit's TLS client certificate ${tls.clientCert} is not signed by the CA ${tls.ca}`, RENEW_CLIENT)
}

/**
 * Node's TLS options for a connection to a node under RC_TLS: trust only the
 * local CA, and present the toolkit's client certificate. No servername: the
 * nodes are dialled by IP, and Node checks an IP against the certificate's IP
 * SANs. Undefined without RC_TLS (plaintext).
 */
export function tlsOptions({ tls }: { readonly tls?: Stack['tls'] }): ConnectionOptions | undefined {
  if (!tls) return undefined
  const files = [tls.ca, tls.clientCert, tls.clientKey]
  let options = tlsOptionsCache.get(files.join('\0'))
  if (!options) {
    const [ca, cert, key] = files.map(readTlsFile) as [Buffer, Buffer, Buffer]
    checkClientCertificate(tls, cert, ca)
    options = { ca, cert, key }
    tlsOptionsCache.set(files.join('\0'), options)
  }
  return options
}

/** ioredis' options for the above: none at all in plaintext. */
const tlsOption = (stack: { readonly tls?: Stack['tls'] }) => {
  const tls = tlsOptions(stack)
  return tls ? { tls } : {}
}

/** MIGRATE's authentication to the target, as the client's own user (a command argument to Redis, never a process argument). */
export function migrateAuth({ user, password }: Pick<Credentials, 'user' | 'password'>): string[] {
  return user === 'default' ? ['AUTH', password] : ['AUTH2', user, password]
}

/**
 * A connection to one node that fails fast: no reconnect loop, no offline
 * queue, one try per command, a deadline on connect, AUTH and every command.
 * The caller owns it and must `disconnect()` it.
 */
export async function connectNode(stack: Credentials, node: ErrorSubject, options: ConnectOptions = {}): Promise<NodeClient> {
  // Inside a run, no single step may outlast the run's deadline.
  const remaining = Math.max(1, (currentRun()?.deadline ?? Infinity) - Date.now())
  const connectTimeoutMs = Math.min(options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, remaining)
  const commandTimeoutMs = Math.min(options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS, remaining)
  const client = new NodeClient(node, {
    host: node.host,
    port: node.port,
    ...credentials(stack),
    ...tlsOption(stack),
    ...(options.acceptExpiredCertificate && stack.tls ? { Connector: ExpiryTolerantConnector } : {}),
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    // AUTH is a command: until connected it gets the connect budget (a paused
    // node accepts TCP, then never answers AUTH).
    commandTimeout: connectTimeoutMs,
    // No INFO-based ready check: it waits, unbounded, while a node loads its
    // data; a loading node answers LOADING, which we report as such.
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // ioredis arms this timer on disconnect() even when the socket already
    // closed (refused): at its 2 s default every failed run would linger 2 s.
    disconnectTimeout: 50,
  })
  // With retries off, connect() rejects with a bare "Connection is closed";
  // the socket's real error (ECONNREFUSED, WRONGPASS...) arrives only here.
  let cause: Error | undefined
  client.on('error', (error: Error) => (cause ??= error))
  try {
    await client.connect()
    // Without the ready check, connect() resolves before AUTH's reply: PING
    // waits for it (a wrong password or a timeout then lands in `cause`). A
    // node that cannot persist refuses PING with MISCONF, yet it answers:
    // health reads why from its INFO.
    await client.ping().catch((error: Error) => {
      if (!/MISCONF/.test(error.message)) throw error
    })
    client.options.commandTimeout = commandTimeoutMs
    return client
  } catch (error) {
    client.disconnect()
    throw describeRedisError(node, cause ?? error, undefined, stack.tls)
  }
}

/** Connects to every node at once; returns clients in node order, or throws the first failure after closing the rest. */
export async function connectAll(stack: Stack, nodes: readonly StackNode[] = stack.nodes, options?: ConnectOptions): Promise<NodeClient[]> {
  const results = await Promise.allSettled(nodes.map((node) => connectNode(stack, node, options)))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) {
    for (const r of results) if (r.status === 'fulfilled') r.value.disconnect()
    throw failed.reason
  }
  return results.map((r) => (r as PromiseFulfilledResult<NodeClient>).value)
}

/**
 * A cluster client for host-side code. Nodes announce the addresses they use
 * among themselves (172.19.0.x in compose); `natMap` turns each announced
 * address into the node's published loopback port. Retries are bounded so an
 * unreachable cluster fails instead of retrying forever (ioredis' default).
 */
export function connectCluster(stack: Stack): Cluster {
  const natMap = Object.fromEntries(
    stack.nodes.filter((n) => n.clusterIp).map((n) => [`${n.clusterIp}:${n.port}`, { host: n.host, port: n.port }]),
  )
  return new Cluster(
    stack.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      natMap,
      redisOptions: { ...credentials(stack), ...tlsOption(stack), connectTimeout: CONNECT_TIMEOUT_MS, commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1, disconnectTimeout: 50 },
      clusterRetryStrategy: (times) => (times > 3 ? null : 100 * times),
      slotsRefreshTimeout: 2000,
      enableOfflineQueue: true,
    },
  )
}

/** Parses `INFO` output into a flat map. */
export function parseInfo(text: string): Record<string, string> {
  const info: Record<string, string> = {}
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':')
    if (at > 0 && !line.startsWith('#')) info[line.slice(0, at)] = line.slice(at + 1)
  }
  return info
}
