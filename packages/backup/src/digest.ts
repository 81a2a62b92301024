import { createHash } from 'node:crypto'
import { CheckFailedError, throwIfStopped, type NodeClient } from '@redis-cluster/core'
import { Command } from 'ioredis'

export interface Digest {
  readonly keys: number
  /** sha256 over every key's line, keys in byte order. */
  readonly sha256: string
}

const SCAN_COUNT = 1000

/**
 * The content digest of a dataset spread over standalone-addressed nodes
 * (a cluster's masters, or the scratch servers holding a backup's RDBs):
 * for every key its name, type, a canonical value (a stream's with its
 * consumer groups) and whether it has a TTL,
 * keys sorted (by length, then bytes), sha256 over all. Two datasets with the same content have the
 * same digest however they are sharded or encoded: DUMP payloads are not
 * used because they depend on the encoding (listpack vs hashtable, which a
 * restore onto other settings may change). The TTL's presence, not its
 * value, is hashed: the remaining time differs by when each side is read.
 */
export async function digestNodes(clients: readonly NodeClient[]): Promise<Digest> {
  return digestLines((await Promise.all(clients.map(keyLines))).flat())
}

/** The digest of key lines gathered from several nodes (keyLines), in any order. */
export function digestLines(lines: Buffer[]): Digest {
  lines.sort(Buffer.compare)
  const hash = createHash('sha256')
  for (const line of lines) hash.update(line)
  return { keys: lines.length, sha256: hash.digest('hex') }
}

/** One line per key of one node: the length-prefixed name (lines sort by it), the type, TTL presence and the value's hash. */
export async function keyLines(client: NodeClient): Promise<Buffer[]> {
  const lines: Buffer[] = []
  let cursor = '0'
  do {
    throwIfStopped()
    const [next, keys] = await client.scanBuffer(cursor, 'COUNT', SCAN_COUNT)
    cursor = String(next)
    const found = await Promise.all(keys.map((key) => keyLine(client, key)))
    for (const line of found) if (line) lines.push(line)
  } while (cursor !== '0')
  return lines
}

async function keyLine(client: NodeClient, key: Buffer): Promise<Buffer | undefined> {
  const [type, pttl] = await Promise.all([client.type(key), client.pttl(key)])
  if (type === 'none') return undefined // expired between SCAN and now
  const value = await canonicalValue(client, key, type)
  const head = Buffer.from(`\0${type}\0${pttl >= 0 ? 'ttl' : 'persist'}\0`)
  return Buffer.concat([lengthPrefixed([key]), head, createHash('sha256').update(value).digest()])
}

/** The value in one canonical byte form per type: unordered collections sorted, ordered ones in their order. */
async function canonicalValue(client: NodeClient, key: Buffer, type: string): Promise<Buffer> {
  switch (type) {
    case 'string':
      return lengthPrefixed([(await client.getBuffer(key)) ?? Buffer.alloc(0)])
    case 'list':
      return lengthPrefixed(await client.lrangeBuffer(key, 0, -1))
    case 'set':
      return lengthPrefixed((await client.smembersBuffer(key)).sort(Buffer.compare))
    case 'zset':
      // ZRANGE's order (score, then member) is already canonical.
      return lengthPrefixed(await client.zrangeBuffer(key, 0, -1, 'WITHSCORES'))
    case 'hash': {
      // Not hgetallBuffer: its object's string keys would garble binary field names. HKEYS and HVALS
      // list an unchanged hash in the same order, and nothing writes to the nodes a digest reads.
      const [fields, values] = await Promise.all([client.hkeysBuffer(key), client.hvalsBuffer(key)])
      const pairs = fields.map((field, i) => lengthPrefixed([field, values[i]!]))
      return Buffer.concat(pairs.sort(Buffer.compare))
    }
    case 'stream': {
      const entries = (await client.xrangeBuffer(key, '-', '+')) as [Buffer, Buffer[]][]
      return Buffer.concat([...entries.map(([id, fields]) => lengthPrefixed([id, ...fields])), await streamGroups(client, key)])
    }
    default:
      throw new CheckFailedError(`key ${key.toString()} has type ${type}, which the digest cannot read`, 'digest covers string, list, set, zset, hash and stream keys')
  }
}

/**
 * A stream's consumer groups, which DUMP and the RDB carry too: each group's
 * name and last delivered id, its pending entries (id, consumer, deliveries)
 * and its consumers' names, groups and consumers sorted by name. Idle and
 * seen times are left out: they change with every read.
 */
async function streamGroups(client: NodeClient, key: Buffer): Promise<Buffer> {
  const raw = (command: string, args: (string | number | Buffer)[]) => client.sendCommand(new Command(command, args, { replyEncoding: null })) as Promise<unknown>
  const field = (info: unknown[], name: string) => info[info.findIndex((v, i) => i % 2 === 0 && String(v) === name) + 1]
  const groups = (await raw('XINFO', ['GROUPS', key])) as unknown[][]
  const parts = await Promise.all(
    groups.map(async (info) => {
      const name = field(info, 'name') as Buffer
      const count = Number(field(info, 'pending'))
      const pending = count > 0 ? ((await raw('XPENDING', [key, name, '-', '+', count])) as [Buffer, Buffer, number, number][]) : []
      const consumers = ((await raw('XINFO', ['CONSUMERS', key, name])) as unknown[][]).map((c) => field(c, 'name') as Buffer)
      return lengthPrefixed([name, field(info, 'last-delivered-id') as Buffer, ...pending.flatMap(([id, consumer, , deliveries]) => [id, consumer, Buffer.from(String(deliveries))]), ...consumers.sort(Buffer.compare)])
    }),
  )
  return lengthPrefixed(parts.sort(Buffer.compare))
}

/** Each part prefixed by its length, so no two different sequences give the same bytes. */
function lengthPrefixed(parts: readonly Buffer[]): Buffer {
  const out: Buffer[] = []
  for (const part of parts) {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(part.length)
    out.push(len, part)
  }
  return Buffer.concat(out)
}
