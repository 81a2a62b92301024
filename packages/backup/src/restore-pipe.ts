import { connect, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import { CONNECT_TIMEOUT_MS, COMMAND_TIMEOUT_MS, describeRedisError, tlsOptions, type StackTls, type Stack, type StackNode } from '@redis-cluster/core'

/** One key to put back: RESTORE key ttl payload REPLACE (ttl 0: none). */
export interface RestoreItem {
  readonly key: Buffer
  readonly ttl: number
  readonly payload: Buffer
}

/** A RESTORE the master refused: the item and Redis' words. */
export interface Refusal {
  readonly item: RestoreItem
  readonly message: string
}

interface Pending {
  readonly items: readonly RestoreItem[]
  readonly refused: Refusal[]
  answered: number
  resolve(refused: Refusal[]): void
  reject(error: Error): void
}

const REPLACE = Buffer.from('\r\n$7\r\nREPLACE\r\n')

/**
 * A plain RESP connection to one master that only sends RESTORE ... REPLACE
 * in batches and counts their replies (+OK or -error, one line each). Why not
 * ioredis: a Command, a promise and their garbage per key held the logical
 * restore at ~35k keys/s on 2 cores; here a batch is one buffer and one
 * promise. Replies come back in order, so a refusal is matched to its key.
 * A master silent for COMMAND_TIMEOUT_MS with a batch outstanding, or a
 * dropped connection, fails every outstanding batch with the typed error of
 * describeRedisError naming the node.
 */
export class RestorePipe {
  private readonly pending: Pending[] = []
  private rest: Buffer = Buffer.alloc(0)
  private failed: Error | undefined

  private constructor(readonly node: StackNode, private readonly socket: Socket, private readonly tls: StackTls | undefined) {
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.read(chunk))
    socket.setTimeout(COMMAND_TIMEOUT_MS, () => this.pending.length > 0 && this.fail(new Error('timed out')))
    socket.on('error', (error) => this.fail(error))
    socket.on('close', () => this.fail(Object.assign(new Error('Connection is closed'), { code: 'ECONNRESET' })))
  }

  /** Connects and authenticates (AUTH is the first batch: a wrong password fails here, as ConfigError). */
  static async open(stack: Stack, node: StackNode): Promise<RestorePipe> {
    // RC_TLS: the same CA and client certificate as core's clients; RESP over it is the same bytes
    const tls = tlsOptions(stack)
    const socket = tls ? connectTls({ host: node.host, port: node.port, ...tls }) : connect({ host: node.host, port: node.port })
    const pipe = new RestorePipe(node, socket, stack.tls)
    const timer = setTimeout(() => pipe.fail(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS)
    try {
      const refused = await pipe.send(encode(['AUTH', ...(stack.user === 'default' ? [] : [stack.user]), stack.password]), [{ key: Buffer.from('AUTH'), ttl: 0, payload: Buffer.alloc(0) }])
      if (refused[0]) throw describeRedisError(node, Object.assign(new Error(refused[0].message), { name: 'ReplyError' }), 'auth', stack.tls)
      return pipe
    } catch (error) {
      pipe.close()
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends every item as RESTORE ... REPLACE in one write; resolves once all are answered, with the refused ones. */
  restore(items: readonly RestoreItem[]): Promise<Refusal[]> {
    // One buffer for the whole batch, written in place: no small buffers per key for the GC.
    const heads = items.map(({ key, ttl, payload }) => [`*5\r\n$7\r\nRESTORE\r\n$${key.length}\r\n`, `\r\n$${String(ttl).length}\r\n${ttl}\r\n$${payload.length}\r\n`] as const)
    let size = 0
    for (const [i, { key, payload }] of items.entries()) size += heads[i]![0].length + key.length + heads[i]![1].length + payload.length + REPLACE.length
    const bytes = Buffer.allocUnsafe(size)
    let at = 0
    for (const [i, { key, payload }] of items.entries()) {
      at += bytes.write(heads[i]![0], at, 'latin1')
      at += key.copy(bytes, at)
      at += bytes.write(heads[i]![1], at, 'latin1')
      at += payload.copy(bytes, at)
      at += REPLACE.copy(bytes, at)
    }
    return this.send(bytes, items)
  }

  close(): void {
    this.failed ??= new Error('closed')
    this.socket.destroy()
  }

  private send(bytes: Buffer, items: readonly RestoreItem[]): Promise<Refusal[]> {
    if (this.failed) return Promise.reject(this.failed)
    return new Promise((resolve, reject) => {
      this.pending.push({ items, refused: [], answered: 0, resolve, reject })
      this.socket.write(bytes)
    })
  }

  private read(chunk: Buffer): void {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk
    let at = 0
    for (let end = data.indexOf(10, at); end >= 0; end = data.indexOf(10, at)) {
      const batch = this.pending[0]
      if (!batch) return this.fail(new Error(`unexpected reply ${data.toString('latin1', at, end)}`))
      if (data[at] === 0x2d) batch.refused.push({ item: batch.items[batch.answered]!, message: data.toString('utf8', at + 1, end - 1) })
      at = end + 1
      if (++batch.answered === batch.items.length) {
        this.pending.shift()
        batch.resolve(batch.refused)
      }
    }
    this.rest = data.subarray(at)
  }

  private fail(error: Error): void {
    const typed = describeRedisError(this.node, error, 'restore', this.tls)
    this.failed ??= typed
    this.socket.destroy()
    for (const batch of this.pending.splice(0)) batch.reject(typed)
  }
}

function encode(args: readonly string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
}
