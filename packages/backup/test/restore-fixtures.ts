import { connectAll, connectCluster, type Stack } from '@redis-cluster/core'

const PER_TYPE = 400
/** Types the toolkit must carry through a backup and restore; `bin` keys have binary names and values. */
const TYPES = ['str', 'bin', 'hash', 'list', 'set', 'zset', 'stream'] as const

export const keyName = (type: string, n: number): Buffer => (type === 'bin' ? Buffer.from([0xff, 0x00, n & 0xff, n >> 8, 0x80]) : Buffer.from(`${type}:${n}`))
export const ALL_KEYS = TYPES.flatMap((t) => Array.from({ length: PER_TYPE }, (_, n) => keyName(t, n)))

/** Writes PER_TYPE keys of each type (2800), every 10th with a TTL of an hour; returns how many. */
export async function writeData(stack: Stack): Promise<number> {
  const cluster = connectCluster(stack)
  try {
    for (let i = 0; i < PER_TYPE; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => i + j).flatMap((n) => {
          const k = (t: string) => keyName(t, n)
          const writes: Promise<unknown>[] = [
            cluster.set(k('str'), `value-${n}`),
            cluster.set(k('bin'), Buffer.from([0, 1, 0xfe, n & 0xff])),
            cluster.hset(k('hash'), { a: n, b: `x${n}`, [`f${n}`]: 'y' }),
            cluster.rpush(k('list'), 'b', 'a', String(n), 'a'),
            cluster.sadd(k('set'), 'x', 'y', String(n)),
            cluster.zadd(k('zset'), n, 'm', n + 0.5, 'n', -1, 'o'),
            cluster.xadd(k('stream'), '*', 'f', String(n)).then(() => cluster.xadd(k('stream'), '*', 'g', 'h')),
          ]
          return n % 10 === 0 ? writes.map((w, t) => w.then(() => cluster.expire(keyName(TYPES[t]!, n), 3600))) : writes
        }),
      )
    }
  } finally {
    cluster.disconnect()
  }
  return ALL_KEYS.length
}

export interface KeyState {
  readonly type: string
  readonly value: unknown
  readonly pttl: number
}

/** Every written key as the cluster returns it: type, value (in one comparable form per type) and PTTL. Read independently of the code under test. */
export async function snapshot(stack: Stack): Promise<Map<string, KeyState>> {
  const cluster = connectCluster(stack)
  try {
    const states = await Promise.all(
      ALL_KEYS.map(async (key): Promise<[string, KeyState]> => {
        const [type, pttl] = await Promise.all([cluster.type(key), cluster.pttl(key)])
        const value = await (async () => {
          switch (type) {
            case 'string':
              return (await cluster.getBuffer(key))?.toString('hex')
            case 'hash':
              return Object.entries(await cluster.hgetall(key)).sort()
            case 'list':
              return cluster.lrange(key, 0, -1)
            case 'set':
              return (await cluster.smembers(key)).sort()
            case 'zset':
              return cluster.zrange(key, 0, -1, 'WITHSCORES')
            case 'stream':
              return cluster.xrange(key, '-', '+')
            default:
              return null
          }
        })()
        return [key.toString('hex'), { type, value, pttl }]
      }),
    )
    return new Map(states)
  } finally {
    cluster.disconnect()
  }
}

/** FLUSHALL on every master (the replicas follow). */
export async function flushMasters(stack: Stack): Promise<void> {
  const masters = await connectAll(stack, stack.nodes.filter((n) => n.role === 'master'))
  try {
    await Promise.all(masters.map((m) => m.flushall()))
  } finally {
    masters.forEach((m) => m.disconnect())
  }
}
