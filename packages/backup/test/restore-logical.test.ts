import { closeSync, cpSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAll, readNodes, answered, runRedisCli, waitForHealthy, type Stack } from '@redis-cluster/core'
import { createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import type { BackupResult, LogicalRestoreResult } from '../src/index.ts'
import { ALL_KEYS, flushMasters, snapshot, writeData, type KeyState } from './restore-fixtures.ts'

/**
 * Every key back with its type and value; a TTL kept: its expiry time the same as when `before` was read (`at`),
 * so now shorter by the time since, within a second; no TTL where there was none.
 */
function expectSameContent(before: Map<string, KeyState>, at: number, after: Map<string, KeyState>) {
  const elapsed = Date.now() - at
  expect(after.size).toBe(before.size)
  for (const [key, was] of before) {
    const now = after.get(key)!
    expect([key, now.type, now.value]).toEqual([key, was.type, was.value])
    if (was.pttl < 0) expect(now.pttl, key).toBe(-1)
    else expect(now.pttl > was.pttl - elapsed - 1000 && now.pttl <= was.pttl, `${key}: pttl ${now.pttl} vs ${was.pttl} ${elapsed} ms before`).toBe(true)
  }
}

describe('restore --logical', () => {
  let test: TestStack
  let stack: Stack
  let written: number
  let before: Map<string, KeyState>
  let beforeAt: number
  let backup: BackupResult
  const env = () => ({ ...test.env, RC_BACKUP_DIR: join(test.dir, 'backups') })
  beforeAll(async () => {
    test = await createTestStack()
    stack = await formTestStack(test)
    written = await writeData(stack)
    beforeAt = Date.now()
    before = await snapshot(stack)
    const run = await runCli('backup/backup', ['--json'], env())
    expect(run.exitCode, run.stderr).toBe(0)
    backup = JSON.parse(run.stdout)
    expect(backup.keys).toBe(written)
  })
  afterAll(() => test?.cleanup())

  it('--logical: asks for --yes (exit 2, the plan printed), then brings every key back after FLUSHALL; a second run changes nothing', async () => {
    await flushMasters(stack)
    const both = await runCli('backup/restore', ['latest', '--logical', '--physical', '--yes'], env())
    expect([both.exitCode, both.stderr]).toEqual([2, expect.stringMatching(/--physical and --logical exclude each other/)])
    const noYes = await runCli('backup/restore', ['latest', '--logical'], env())
    expect(noYes.exitCode).toBe(2)
    expect(noYes.stderr).toMatch(/^restore: logical \(--logical\)$/m)
    expect(noYes.stderr).toMatch(new RegExp(`would restore backup ${backup.name} \\(${written} keys: shard-0.rdb \\(\\d+ keys\\)[\\s\\S]*fix: run again with --yes: pnpm restore \\S+ --logical --yes`))
    expect((await snapshot(stack)).get(ALL_KEYS[0]!.toString('hex'))!.type).toBe('none')

    const run = await runCli('backup/restore', ['latest', '--logical', '--yes', '--json'], env())
    expect(run.exitCode, run.stderr).toBe(0)
    const result: LogicalRestoreResult = JSON.parse(run.stdout)
    expect(result).toMatchObject({ restored: written, expected: written, name: backup.name })
    expect(result.shards.map((s) => [s.file, s.restored, s.expired])).toEqual(backup.shards.map((s) => [s.file, s.keys, 0]))
    console.log(`logical restore: ${result.restored} keys in ${result.durationMs} ms, ${result.keysPerSecond} keys/s`)
    expectSameContent(before, beforeAt, await snapshot(stack))

    const again = await runCli('backup/restore', [backup.dir, '--logical', '--yes'], env())
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toMatch(new RegExp(`restored ${written} of ${written} keys of ${backup.name}`))
    expectSameContent(before, beforeAt, await snapshot(stack))
  })

  it('refuses a byte-flipped backup (exit 1, naming the file) and writes nothing', async () => {
    await flushMasters(stack)
    const dir = join(test.dir, 'flipped')
    cpSync(backup.dir, dir, { recursive: true })
    const file = join(dir, 'shard-1.rdb')
    const at = Math.floor(backup.shards[1]!.bytes / 2)
    const fd = openSync(file, 'r+')
    writeSync(fd, Buffer.from([readFileSync(file)[at]! ^ 0xff]), 0, 1, at)
    closeSync(fd)
    const run = await runCli('backup/restore', [dir, '--logical', '--yes'], env())
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toMatch(/fails verification: shard-1\.rdb: sha256 differs/)
    const masters = await connectAll(stack, stack.nodes.filter((n) => n.role === 'master'))
    expect(await Promise.all(masters.map((m) => m.dbsize()))).toEqual([0, 0, 0])
    masters.forEach((m) => m.disconnect())
  })

  it('onto a cluster whose slots were resharded, puts every key on its current owner', async () => {
    await flushMasters(stack)
    const readings = (await readNodes(stack)).filter(answered)
    const id = (name: string) => readings.find((r) => r.node.name === name)!.id
    // core's runRedisCli: the stack's user, password and (RC_TLS=1) certificates
    await runRedisCli(stack, ['--cluster', 'reshard', `127.0.0.1:${stack.nodes[0]!.port}`, '--cluster-from', id('redis-node-0'), '--cluster-to', id('redis-node-1'), '--cluster-slots', '100', '--cluster-yes'])
    const clients = await connectAll(stack)
    try {
      await waitForHealthy(stack, clients)
    } finally {
      clients.forEach((c) => c.disconnect())
    }
    // No --logical: restore sees the layout differs and chooses the logical restore itself.
    const run = await runCli('backup/restore', ['latest', '--yes'], env())
    expect(run.exitCode, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/^restore: logical \(a physical restore is not possible here: the cluster's slot layout differs from the backup's/m)
    expectSameContent(before, beforeAt, await snapshot(stack))

    // Each master holds exactly the keys of the slots it owns now, and node-1 holds some of the moved ones.
    const owners = (await readNodes(stack)).filter(answered).filter((r) => r.myself.role === 'master')
    expect(owners.find((o) => o.node.name === 'redis-node-1')!.myself.slots.map((s) => [s.start, s.end])).toEqual(expect.arrayContaining([[0, 99]]))
    let placed = 0
    let moved = 0
    const masters = await connectAll(stack, owners.map((o) => o.node))
    try {
      for (const [i, master] of masters.entries()) {
        const keys = await master.keysBuffer('*') // a test on a small dataset: KEYS is fine here
        for (const key of keys) {
          const slot = (await master.cluster('KEYSLOT', key)) as number
          expect(owners[i]!.myself.slots.some((r) => slot >= r.start && slot <= r.end), `${key.toString('hex')} (slot ${slot}) on ${owners[i]!.node.name}`).toBe(true)
          if (slot < 100) moved++
        }
        placed += keys.length
      }
    } finally {
      masters.forEach((m) => m.disconnect())
    }
    expect(placed).toBe(written)
    expect(moved).toBeGreaterThan(0)
  })

  it('a RESTORE a master refuses (OOM) fails the run: exit 1 naming the node, the key and Redis\' words', async () => {
    await flushMasters(stack)
    const nodes = await connectAll(stack)
    try {
      // maxmemory 1 byte: with nothing left to evict, every write is refused with OOM; reads and health checks still answer.
      await Promise.all(nodes.map((n) => n.config('SET', 'maxmemory', '1')))
      const run = await runCli('backup/restore', ['latest', '--logical', '--yes'], env())
      expect(run.exitCode, run.stderr).toBe(1)
      expect(run.stderr).toMatch(/redis-node-\d \(127\.0\.0\.1:\d+\) refused RESTORE: OOM command not allowed .*\(key ".+"\)/)
    } finally {
      await Promise.all(nodes.map((n) => n.config('SET', 'maxmemory', '0')))
      nodes.forEach((n) => n.disconnect())
    }
  })

  it('refuses an unhealthy cluster (a replica down) naming the problem; --force restores anyway', async () => {
    await flushMasters(stack)
    const replica = (await connectAll(stack, [stack.nodes[5]!]))[0]!
    await replica.shutdown('NOSAVE').catch(() => {}) // the connection drops as it answers
    replica.disconnect()
    const refused = await runCli('backup/restore', ['latest', '--logical', '--yes'], env())
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toMatch(/the cluster is not healthy: .*redis-node-5[\s\S]*fix: .*--force/)
    const forced = await runCli('backup/restore', ['latest', '--logical', '--yes', '--force'], env())
    expect(forced.exitCode, forced.stderr).toBe(0)
    expectSameContent(before, beforeAt, await snapshot(stack))
  })
})
