import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAll, connectCluster, parseInfo, waitForHealthy, type NodeClient, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'

const N = 400

/** ~2000 keys of five types, a tenth of the strings and hashes with TTLs. */
async function writeData(stack: Stack): Promise<void> {
  const cluster = connectCluster(stack)
  try {
    await Promise.all(
      Array.from({ length: N }, (_, n) => [
        cluster.set(`str:${n}`, `value-${n}`, ...((n % 10 === 0 ? ['EX', 3600] : []) as [])),
        cluster.hset(`hash:${n}`, { a: n, b: `x${n}` }).then(() => (n % 10 === 1 ? cluster.expire(`hash:${n}`, 3600) : 0)),
        cluster.rpush(`list:${n}`, 'a', 'b', String(n)),
        cluster.sadd(`set:${n}`, 'x', 'y', String(n)),
        cluster.zadd(`zset:${n}`, n, 'm', n + 1, 'n'),
      ]).flat(),
    )
  } finally {
    cluster.disconnect()
  }
}

/** Overwrites, deletes and adds keys: what a restore must undo. */
async function scribble(stack: Stack): Promise<void> {
  const cluster = connectCluster(stack)
  try {
    await Promise.all(Array.from({ length: 50 }, (_, n) => [cluster.set(`str:${n}`, 'changed'), cluster.del(`list:${n}`), cluster.set(`new:${n}`, 'added'), cluster.persist(`str:${n * 10}`)]).flat())
  } finally {
    cluster.disconnect()
  }
}

/** A key's value in a canonical form (a set's or hash's order in DUMP is not kept by an RDB load). */
async function valueOf(client: NodeClient, key: string): Promise<string> {
  const type = await client.type(key)
  const value =
    type === 'string' ? await client.get(key)
    : type === 'hash' ? Object.entries(await client.hgetall(key)).sort()
    : type === 'list' ? await client.lrange(key, 0, -1)
    : type === 'set' ? (await client.smembers(key)).sort()
    : await client.zrange(key, 0, -1, 'WITHSCORES')
  return `${type} ${JSON.stringify(value)} ttl:${(await client.pttl(key)) > 0}`
}

/** Every key on the current masters: type, value and whether it has a TTL. */
async function contents(stack: Stack): Promise<Map<string, string>> {
  const clients = await connectAll(stack)
  const out = new Map<string, string>()
  try {
    for (const client of clients) {
      if (parseInfo(await client.info('replication')).role !== 'master') continue
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'COUNT', 1000)
        cursor = next
        for (const key of keys) out.set(key, await valueOf(client, key))
      } while (cursor !== '0')
    }
  } finally {
    clients.forEach((c) => c.disconnect())
  }
  return out
}

async function ids(stack: Stack): Promise<string[]> {
  const clients = await connectAll(stack)
  try {
    return await Promise.all(clients.map(async (c) => String(await c.cluster('MYID'))))
  } finally {
    clients.forEach((c) => c.disconnect())
  }
}

async function healthy(stack: Stack): Promise<void> {
  const clients = await connectAll(stack)
  try {
    await waitForHealthy(stack, clients)
  } finally {
    clients.forEach((c) => c.disconnect())
  }
}

const pids = async (stack: Stack) => (await localRuntime.ps(stack)).map((s) => s.pid)

describe('restore (physical)', () => {
  let test: TestStack
  let stack: Stack
  let backupDir: string
  let before: Map<string, string>
  let nodeIds: string[]
  const env = () => ({ ...test.env, RC_BACKUP_DIR: join(test.dir, 'backups') })
  // RC_RUNTIME=auto, the default: it must find the local runtime in use. No --physical: restore must choose it.
  const restore = (...args: string[]) => runCli('backup/restore', args, { ...env(), RC_RUNTIME: 'auto' })
  const leftovers = () => stack.nodes.flatMap((n) => readdirSync(n.dataDir).filter((f) => f.includes('before-restore') || f.includes('restore-tmp')))

  beforeAll(async () => {
    test = await createTestStack()
    stack = await formTestStack(test)
    await writeData(stack)
    const backup = await runCli('backup/backup', ['--json'], env())
    expect(backup.exitCode, backup.stderr).toBe(0)
    backupDir = JSON.parse(backup.stdout).dir
    before = await contents(stack)
    nodeIds = await ids(stack)
  }, 120_000)
  afterAll(() => test?.cleanup())

  it('chooses the physical restore on the same layout; without --yes prints the choice and the plan, exits 2 and stops nothing', async () => {
    await scribble(stack)
    const running = await pids(stack)
    const r = await restore('latest')
    expect(r.exitCode, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^restore: physical \(the cluster has the backup's slot layout and the local runtime can place its RDB files\)$/m)
    expect(r.stderr).toMatch(/shard-0\.rdb -> redis-node-0/)
    expect(r.stderr).toMatch(/every node is stopped; the current data on every node is replaced/)
    expect(r.stderr).toMatch(/--yes/)
    expect(await pids(stack)).toEqual(running)
    expect((await contents(stack)).get('new:1')).toBeDefined()
  })

  it('brings back exactly the backup (types, values, TTLs), healthy, same node ids, nothing left aside', async () => {
    expect(await contents(stack)).not.toEqual(before)
    const r = await restore(backupDir, '--yes')
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/cluster healthy/)
    expect(await contents(stack)).toEqual(before)
    expect(before.size).toBe(5 * N)
    expect([...before.values()].filter((v) => v.endsWith('ttl:true'))).toHaveLength(N / 5)
    await healthy(stack)
    expect(await ids(stack)).toEqual(nodeIds)
    expect(leftovers()).toEqual([])
    expect(existsSync(join(stack.dataDir, 'restore-physical.json'))).toBe(false)
  }, 120_000)

  it('after a failover restores onto the current masters (matched by slots)', async () => {
    const [replica] = await connectAll(stack, [stack.nodes[3]!])
    await replica!.cluster('FAILOVER')
    replica!.disconnect()
    await healthy(stack)
    expect(parseInfo(await (await connectAll(stack, [stack.nodes[3]!]))[0]!.info('replication')).role).toBe('master')
    await scribble(stack)
    const r = await restore('latest', '--physical', '--yes')
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/^restore: physical \(--physical\)$/m)
    expect(r.stderr).toMatch(/shard-0\.rdb -> redis-node-3/)
    expect(await contents(stack)).toEqual(before)
    expect(await ids(stack)).toEqual(nodeIds)
  }, 120_000)

  it('an interrupted restore is finished by running it again (another backup is refused meanwhile)', async () => {
    await scribble(stack)
    // A directory where shard 1's dump.rdb is staged: the run fails after every node stopped and shard 0 was placed.
    const master1 = stack.nodes[1]!
    mkdirSync(join(master1.dataDir, 'dump.rdb.restore-tmp', 'blocker'), { recursive: true })
    const failed = await restore('latest', '--yes')
    expect(failed.exitCode).not.toBe(0)
    expect((await localRuntime.ps(stack)).map((s) => s.state)).toEqual(Array(6).fill('stopped'))
    expect(leftovers().some((f) => f.includes('before-restore'))).toBe(true)
    rmSync(join(master1.dataDir, 'dump.rdb.restore-tmp'), { recursive: true })
    const other = join(test.dir, 'other')
    cpSync(backupDir, other, { recursive: true })
    const refused = await restore(other, '--yes')
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toMatch(/was interrupted[\s\S]*fix: finish it first: pnpm restore \S+ --yes/)
    const again = await restore('latest', '--yes')
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/^restore: physical \(it finishes the physical restore that was interrupted\)$/m)
    expect(again.stdout).toMatch(/finished an interrupted restore/)
    expect(await contents(stack)).toEqual(before)
    expect(await ids(stack)).toEqual(nodeIds)
    expect(leftovers()).toEqual([])
  }, 120_000)

  it('refuses a byte-flipped RDB and changes nothing', async () => {
    await scribble(stack)
    const now = await contents(stack)
    const flipped = join(test.dir, 'flipped')
    cpSync(backupDir, flipped, { recursive: true })
    const file = join(flipped, 'shard-1.rdb')
    const bytes = readFileSync(file)
    const fd = openSync(file, 'r+')
    writeSync(fd, Buffer.from([bytes[bytes.length >> 1]! ^ 0xff]), 0, 1, bytes.length >> 1)
    closeSync(fd)
    const running = await pids(stack)
    const r = await restore(flipped, '--yes')
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/shard-1\.rdb: sha256 differs/)
    expect(await pids(stack)).toEqual(running)
    expect(await contents(stack)).toEqual(now)
  })

  it('refuses while a node is down unless --force (a down node stops the restore, it does not switch to the logical one)', async () => {
    const [node5] = await connectAll(stack, [stack.nodes[5]!])
    await node5!.shutdown().catch(() => undefined)
    node5!.disconnect()
    const r = await restore('latest', '--yes')
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/redis-node-5 is down/)
    expect(r.stderr).toMatch(/--force/)
    const forced = await restore('latest', '--yes', '--force')
    expect(forced.exitCode, forced.stderr).toBe(0)
    expect(await contents(stack)).toEqual(before)
  }, 120_000)

  it('on the compose runtime --physical refuses (78), pointing at --logical; without it restore chooses the logical one', async () => {
    const r = await runCli('backup/restore', ['latest', '--physical', '--yes'], { ...env(), RC_RUNTIME: 'compose' })
    expect(r.exitCode, r.stderr).toBe(78)
    expect(r.stderr).toMatch(/compose runtime cannot do yet.*\n.*pnpm restore --logical/)
    const auto = await runCli('backup/restore', ['latest'], { ...env(), RC_RUNTIME: 'compose' })
    expect(auto.exitCode, auto.stderr).toBe(2)
    expect(auto.stderr).toMatch(/^restore: logical \(a physical restore is not possible here: a physical restore places files in the nodes' data dirs, which the compose runtime cannot do yet\)$/m)
    expect(auto.stderr).toMatch(/would restore backup .* key by key/)
  })

  it('--physical refuses a cluster whose slots were resharded, pointing at --logical; without it restore chooses the logical one', async () => {
    const clients = await connectAll(stack)
    try {
      const owner = clients.find((c) => c.subject === stack.nodes[1])!
      const target = String(await clients.find((c) => c.subject === stack.nodes[2])!.cluster('MYID'))
      let slot = 5461
      while (Number(await owner.cluster('COUNTKEYSINSLOT', slot)) > 0) slot++
      await Promise.all(clients.map((c) => c.cluster('SETSLOT', slot, 'NODE', target).catch(() => undefined)))
    } finally {
      clients.forEach((c) => c.disconnect())
    }
    await healthy(stack)
    const running = await pids(stack)
    const r = await restore('latest', '--physical', '--yes')
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/slot layout differs/)
    expect(r.stderr).toMatch(/pnpm restore --logical/)
    const auto = await restore('latest')
    expect(auto.exitCode, auto.stderr).toBe(2)
    expect(auto.stderr).toMatch(/^restore: logical \(a physical restore is not possible here: the cluster's slot layout differs from the backup's/m)
    expect(auto.stderr).toMatch(/fix: run again with --yes: pnpm restore \S+ --yes/)
    expect(await pids(stack)).toEqual(running)
  }, 60_000)
})
