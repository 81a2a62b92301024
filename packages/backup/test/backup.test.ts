import { cpSync, existsSync, readFileSync, readdirSync, truncateSync, writeFileSync, openSync, writeSync, closeSync, statSync, mkdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAll, connectCluster, parseInfo, takeStackLock, userSecretFile, type Stack } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import { TEXTFILE, type BackupResult } from '../src/index.ts'

const KEYS_PER_TYPE = 600

/** Writes 3000 keys of five types (a tenth with TTLs) through a cluster client; returns how many. */
async function writeData(stack: Stack): Promise<number> {
  const cluster = connectCluster(stack)
  try {
    for (let i = 0; i < KEYS_PER_TYPE; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => i + j).flatMap((n) => [
          cluster.set(`str:${n}`, `value-${n}`, ...((n % 10 === 0 ? ['EX', 3600] : []) as [])),
          cluster.hset(`hash:${n}`, { a: n, b: `x${n}` }),
          cluster.rpush(`list:${n}`, 'a', 'b', String(n)),
          cluster.sadd(`set:${n}`, 'x', 'y', String(n)),
          cluster.zadd(`zset:${n}`, n, 'm', n + 1, 'n'),
        ]),
      )
    }
  } finally {
    cluster.disconnect()
  }
  return KEYS_PER_TYPE * 5
}

async function mastersForks(stack: Stack): Promise<Record<string, string>> {
  const clients = await connectAll(stack, stack.nodes.filter((n) => n.role === 'master'))
  try {
    return Object.fromEntries(await Promise.all(clients.map(async (c) => [c.subject.name, parseInfo(await c.info('stats')).total_forks!])))
  } finally {
    clients.forEach((c) => c.disconnect())
  }
}

describe('backup', () => {
  let test: TestStack
  let stack: Stack
  let written: number
  let good: BackupResult
  const backupEnv = () => ({ ...test.env, RC_BACKUP_DIR: join(test.dir, 'backups') })
  beforeAll(async () => {
    test = await createTestStack()
    stack = await formTestStack(test)
    written = await writeData(stack)
  })
  afterAll(() => test?.cleanup())

  it('takes every shard from its replica: manifest, files and key counts right, masters never fork', async () => {
    const forksBefore = await mastersForks(stack)
    const textfiles = join(test.dir, 'textfiles')
    mkdirSync(textfiles)
    const result = await runCli('backup/backup', ['--json', '--textfile', textfiles], backupEnv())
    expect(result.exitCode, result.stderr).toBe(0)
    good = JSON.parse(result.stdout)
    expect(await mastersForks(stack)).toEqual(forksBefore)
    expect(good.dir).toBe(join(test.dir, 'backups', good.name))
    expect(good.name).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/)
    expect(good).toMatchObject({ format: 1, keys: written, redisVersion: expect.stringMatching(/^\d+\.\d+/), toolkitVersion: expect.stringMatching(/^@redis-cluster\/backup@/) })
    expect(good.shards.map((s) => [s.slots, s.master.name, s.replicas.map((r) => r.name), s.source.name, s.source.role, s.file])).toEqual([
      [[{ start: 0, end: 5460 }], 'redis-node-0', ['redis-node-3'], 'redis-node-3', 'replica', 'shard-0.rdb'],
      [[{ start: 5461, end: 10922 }], 'redis-node-1', ['redis-node-4'], 'redis-node-4', 'replica', 'shard-1.rdb'],
      [[{ start: 10923, end: 16383 }], 'redis-node-2', ['redis-node-5'], 'redis-node-5', 'replica', 'shard-2.rdb'],
    ])
    const masters = await connectAll(stack, stack.nodes.slice(0, 3))
    const dbsizes = await Promise.all(masters.map((c) => c.dbsize()))
    masters.forEach((c) => c.disconnect())
    for (const [i, shard] of good.shards.entries()) {
      expect(shard).toMatchObject({ keys: dbsizes[i], keysBefore: dbsizes[i], keysAfter: dbsizes[i], bytes: statSync(join(good.dir, shard.file)).size })
      expect(shard.replOffset).toBeGreaterThan(0)
    }
    expect(readdirSync(good.dir).sort()).toEqual(['manifest.json', 'shard-0.rdb', 'shard-1.rdb', 'shard-2.rdb'])
    expect(readdirSync(join(test.dir, 'backups'))).toEqual([good.name])
    expect(result.stderr).toMatch(new RegExp(`^backup: ok: 3 shards, ${written} keys, .* -> ${good.dir}\\n$`, 'm'))
    const prom = readFileSync(join(textfiles, TEXTFILE), 'utf8')
    expect(prom).toMatch(/^redis_cluster_backup_last_result 1$/m)
    expect(prom).toMatch(new RegExp(`^redis_cluster_backup_last_success_keys ${written}$`, 'm'))
    expect(readdirSync(textfiles)).toEqual([TEXTFILE])

    const verify = await runCli('backup/backup-verify', [good.dir], backupEnv())
    expect(verify.exitCode, verify.stderr).toBe(0)
    const quiet = await runCli('backup/backup-verify', ['-q', 'latest'], backupEnv())
    expect([quiet.exitCode, quiet.stdout]).toEqual([0, ''])
  })

  it('verify rejects a truncated RDB, a byte-flipped RDB, an edited and a missing manifest, naming the file and the problem', async () => {
    const copy = (name: string) => {
      const dir = join(test.dir, 'bad', name)
      cpSync(good.dir, dir, { recursive: true })
      return dir
    }
    const truncated = copy('truncated')
    truncateSync(join(truncated, 'shard-1.rdb'), good.shards[1]!.bytes - 100)
    const flipped = copy('flipped')
    const fd = openSync(join(flipped, 'shard-2.rdb'), 'r+')
    const at = Math.floor(good.shards[2]!.bytes / 2)
    const byte = Buffer.alloc(1)
    byte[0] = readFileSync(join(flipped, 'shard-2.rdb'))[at]! ^ 0xff
    writeSync(fd, byte, 0, 1, at)
    closeSync(fd)
    const edited = copy('edited')
    const manifest = JSON.parse(readFileSync(join(edited, 'manifest.json'), 'utf8'))
    manifest.shards[0].keys += 1
    writeFileSync(join(edited, 'manifest.json'), JSON.stringify(manifest, null, 2))
    const missing = copy('missing')
    execFileSync('rm', [join(missing, 'manifest.json')])

    const verify = (dir: string) => runCli('backup/backup-verify', [dir], backupEnv())
    const t = await verify(truncated)
    expect(t.exitCode).toBe(1)
    expect(t.stdout).toMatch(/shard-1\.rdb: \d+ bytes, the manifest says \d+ \(truncated/)
    const f = await verify(flipped)
    expect(f.exitCode).toBe(1)
    expect(f.stdout).toMatch(/shard-2\.rdb: sha256 differs/)
    const e = await verify(edited)
    expect(e.exitCode).toBe(1)
    expect(e.stderr).toMatch(/manifest\.json: edited after the backup was taken/)
    const m = await verify(missing)
    expect(m.exitCode).toBe(1)
    expect(m.stderr).toMatch(/manifest\.json: missing/)

    // The RDB check itself, past the checksums: the flipped file with a manifest sealed for it is still refused.
    const { checkRdb } = await import('../src/index.ts')
    expect(await checkRdb(join(flipped, 'shard-2.rdb'))).toMatchObject({ ok: false })
    expect(await checkRdb(join(truncated, 'shard-1.rdb'))).toMatchObject({ ok: false, problem: expect.stringMatching(/EOF/) })
    expect(await checkRdb(join(good.dir, 'shard-1.rdb'))).toMatchObject({ ok: true, keys: good.shards[1]!.keys })
  })

  it('retention: --keep 2 keeps the two newest good backups; list shows them good', async () => {
    const env = { ...test.env, RC_BACKUP_DIR: join(test.dir, 'rotated') }
    const names: string[] = []
    for (let i = 0; i < 2; i++) {
      const run = await runCli('backup/backup', ['--json', '--keep', '2'], env)
      expect(run.exitCode, run.stderr).toBe(0)
      const result: BackupResult = JSON.parse(run.stdout)
      expect(result.dir).toBe(join(test.dir, 'rotated', result.name))
      names.push(result.name)
    }
    // as cron runs it: nothing on stdout, one line on stderr
    const quiet = await runCli('backup/backup', ['--quiet', '--keep', '2'], env)
    expect([quiet.exitCode, quiet.stdout]).toEqual([0, ''])
    expect(quiet.stderr).toMatch(new RegExp(`^backup: ok: 3 shards, ${written} keys, .* -> \\S+/rotated/(\\S+); retention removed ${names[0]}\\n$`))
    names.push(/rotated\/(\S+);/.exec(quiet.stderr)![1]!)
    expect(new Set(names).size).toBe(3) // two may start in one second: the second is NAME-2, and its manifest says so
    expect(readdirSync(join(test.dir, 'rotated')).sort()).toEqual(names.slice(1).sort())
    const list = await runCli('backup/backup-list', ['--json'], env)
    expect(list.exitCode).toBe(0)
    expect(JSON.parse(list.stdout).map((b: { name: string; state: string; keys: number }) => [b.name, b.state, b.keys])).toEqual([
      [names[2], 'good', written],
      [names[1], 'good', written],
    ])
  })

  it('a second backup while one holds the stack lock exits 75 at once, naming the holder', async () => {
    const lock = await takeStackLock(`${stack.dataDir}\0${stack.projectName}`, { command: 'backup' })
    try {
      const result = await runCli('backup/backup', [], backupEnv())
      expect(result.exitCode).toBe(75)
      expect(result.stderr).toMatch(/the stack is locked by backup \(pid \d+/)
    } finally {
      lock.release()
    }
  })

  it('runs as the backup user: a backup secret the nodes do not know exits 78 naming the refusal (admin\'s is not used)', async () => {
    const file = userSecretFile(stack.secretsDir, 'backup')
    const known = readFileSync(file, 'utf8')
    writeFileSync(file, 'not-the-backup-password')
    try {
      const result = await runCli('backup/backup', [], test.env)
      expect(result.exitCode, result.stderr).toBe(78)
      expect(result.stderr).toMatch(/^backup: redis-node-\d \(127\.0\.0\.1:\d+\) rejects the password in the secret file\n/)
    } finally {
      writeFileSync(file, known)
    }
  })

  it('a destination it may not write exits 78 and leaves nothing that looks like a backup', async () => {
    const dir = join(test.dir, 'immutable')
    mkdirSync(dir)
    execFileSync('chattr', ['+i', dir])
    try {
      const result = await runCli('backup/backup', ['--dir', dir], test.env)
      expect(result.exitCode, result.stderr).toBe(78)
      expect(result.stderr).toMatch(/permission denied[\s\S]*fix: .*chattr -i/)
      expect(readdirSync(dir)).toEqual([])
    } finally {
      execFileSync('chattr', ['-i', dir])
    }
  })

  it('a full disk exits 75 and leaves nothing behind (tmpfs of 16 KiB)', async () => {
    const dir = join(test.dir, 'full')
    mkdirSync(dir)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir])
    try {
      const result = await runCli('backup/backup', ['--dir', dir], test.env)
      expect(result.exitCode, result.stderr).toBe(75)
      expect(result.stderr).toMatch(/no space left on the device[\s\S]*fix: free space/)
      expect(readdirSync(dir)).toEqual([])
    } finally {
      execFileSync('umount', [dir])
    }
  })

  it('a shard without a caught-up replica: exit 75 naming it; --allow-master pulls it from the master, and says so', async () => {
    const replica = (await localRuntime.ps(stack)).find((n) => n.node === 'redis-node-4')!
    process.kill(replica.pid!, 'SIGKILL')
    const dir = join(test.dir, 'degraded')
    const textfiles = join(test.dir, 'textfiles-failed')
    mkdirSync(textfiles)
    // into the directory holding the first test's good backup: the failed run's metrics still describe that one
    const refused = await runCli('backup/backup', ['--textfile', textfiles], backupEnv())
    expect(refused.exitCode).toBe(75)
    expect(readdirSync(join(test.dir, 'backups'))).toEqual([good.name])
    const prom = readFileSync(join(textfiles, TEXTFILE), 'utf8')
    expect(prom).toMatch(/^redis_cluster_backup_last_result 0$/m)
    const lastSuccess = Number(/^redis_cluster_backup_last_success_timestamp_seconds (\S+)$/m.exec(prom)?.[1])
    expect(lastSuccess).toBeCloseTo(Date.parse(good.startedAt) / 1000, 3)
    expect(refused.stderr).toMatch(/no caught-up replica to back up from: shard 1 \(slots 5461-10922, master redis-node-1\): redis-node-4 does not answer/)
    expect(refused.stderr).toMatch(/fix: .*--allow-master/)
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([])
    const allowed = await runCli('backup/backup', ['--dir', dir, '--allow-master', '--json'], test.env)
    expect(allowed.exitCode, allowed.stderr).toBe(0)
    expect(allowed.stderr).toMatch(/note: shard 1 .*pulling from the master itself, which forks/)
    const result: BackupResult = JSON.parse(allowed.stdout)
    expect(result.shards.map((s) => `${s.source.name}/${s.source.role}`)).toEqual(['redis-node-3/replica', 'redis-node-1/master', 'redis-node-5/replica'])
    expect(result.keys).toBe(written)
  })
})
