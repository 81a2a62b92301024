import { Redis, Cluster } from 'ioredis'
import { ConfigError, TemporaryError } from './errors.ts'
import type { Stack, StackNode } from './stack.ts'

export interface ConnectOptions {
  /** How long to wait for the TCP connection and AUTH. */
  connectTimeoutMs?: number
}

/**
 * A connection to one node that fails fast: no reconnect loop, no offline
 * queue, one try per command. The caller owns it and must `disconnect()` it.
 */
export async function connectNode(stack: Stack, node: StackNode, { connectTimeoutMs = 2000 }: ConnectOptions = {}): Promise<Redis> {
  const client = new Redis({
    host: node.host,
    port: node.port,
    password: stack.password,
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
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
    return client
  } catch (error) {
    client.disconnect()
    throw describeConnectError(node, cause ?? (error as Error))
  }
}

/** Maps ioredis/socket errors to the one line a user needs. */
export function describeConnectError(node: StackNode, error: Error): Error {
  const where = `${node.name} (${node.host}:${node.port})`
  const message = error.message
  if (/WRONGPASS|invalid password|NOAUTH/i.test(message)) {
    return new ConfigError(`${where} rejects the password in the secret file`, 'the node runs with another password: restore the old secret, or stop the node and start it again')
  }
  if (/ECONNREFUSED/.test(message)) return new TemporaryError(`${where} is not running (connection refused)`, 'start the stack with `pnpm run up`')
  if (/ETIMEDOUT|timeout/i.test(message)) return new TemporaryError(`${where} did not answer in time`, 'check that the node is not paused or overloaded')
  return new TemporaryError(`${where}: ${message}`)
}

/** Connects to every node at once; returns clients in node order, or throws the first failure after closing the rest. */
export async function connectAll(stack: Stack, nodes: readonly StackNode[] = stack.nodes, options?: ConnectOptions): Promise<Redis[]> {
  const results = await Promise.allSettled(nodes.map((node) => connectNode(stack, node, options)))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) {
    for (const r of results) if (r.status === 'fulfilled') r.value.disconnect()
    throw failed.reason
  }
  return results.map((r) => (r as PromiseFulfilledResult<Redis>).value)
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
      redisOptions: { password: stack.password, connectTimeout: 2000, maxRetriesPerRequest: 1, disconnectTimeout: 50 },
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
