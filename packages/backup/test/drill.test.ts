import { spawn } from 'node:child_process'
import { closeSync, cpSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAll, connectCluster, type Stack } from '@redis-cluster/core'
import { isPortFree } from '@redis-cluster/compose'
import { REPO_ROOT, createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import type { BackupResult, DrillResult } from '../src/index.ts'
import { writeData } from './restore-fixtures.ts'

const drillDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('rc-drill-'))

/** The throwaway cluster's ports, from the drill's progress line; every one must be free again. */
async function expectPortsFreed(stderr: string, ports: readonly number[] = /throwaway cluster up on ports ([\d, ]+);/.exec(stderr)![1]!.split(', ').map(Number)) {
  expect(ports).toHaveLength(6)
  expect(await Promise.all(ports.flatMap((p) => [isPortFree(p), isPortFree(p + 10000)]))).toEqual(Array(12).fill(true))
}

describe('backup:drill', () => {
  let test: TestStack
  let stack: Stack
  let written: number
  let backup: BackupResult
  const env = () => ({ ...test.env, RC_BACKUP_DIR: join(test.dir, 'backups') })
  const liveKeys = async () => {
    const masters = await connectAll(stack, stack.nodes.filter((n) => n.role === 'master'))
    const sizes = await Promise.all(masters.map((m) => m.dbsize()))
    masters.forEach((m) => m.disconnect())
    return sizes.reduce((a, b) => a + b, 0)
  }
  beforeAll(async () => {
    test = await createTestStack()
    stack = await formTestStack(test)
    written = await writeData(stack)
    // Consumer groups on some streams, with entries read and pending: the drill's PASS covers them too.
    const cluster = connectCluster(stack)
    try {
      for (let n = 0; n < 10; n++) {
        await cluster.xgroup('CREATE', `stream:${n}`, 'readers', '0')
        await cluster.xreadgroup('GROUP', 'readers', `consumer-${n}`, 'COUNT', 1, 'STREAMS', `stream:${n}`, '>')
      }
    } finally {
      cluster.disconnect()
    }
    const run = await runCli('backup/backup', ['--json'], env())
    expect(run.exitCode, run.stderr).toBe(0)
    backup = JSON.parse(run.stdout)
  })
  afterAll(() => test?.cleanup())

  it('PASSes on a good backup, with the digest of every key on both sides; leaves no process or temp dir; the live cluster untouched', async () => {
    const dirsBefore = drillDirs()
    const run = await runCli('backup/backup-drill', ['latest', '--json'], env())
    expect(run.exitCode, run.stderr).toBe(0)
    const result: DrillResult = JSON.parse(run.stdout)
    expect(result).toMatchObject({ pass: true, name: backup.name, manifestKeys: written, backup: { keys: written }, restored: { keys: written, sha256: result.backup.sha256 } })
    expect(result.backup.sha256).toMatch(/^[0-9a-f]{64}$/)
    await expectPortsFreed('', result.ports)
    expect(drillDirs()).toEqual(dirsBefore)
    expect(await liveKeys()).toBe(written)

    const human = await runCli('backup/backup-drill', [backup.dir], env())
    expect(human.exitCode, human.stderr).toBe(0)
    expect(human.stdout).toMatch(new RegExp(`^PASS: ${backup.name}: backup ${written} keys \\(manifest ${written}\\), restored ${written}; digest [0-9a-f]{16}`))
  })

  it('refuses a byte-flipped backup (exit 1) and cleans up', async () => {
    const dir = join(test.dir, 'flipped')
    cpSync(backup.dir, dir, { recursive: true })
    const file = join(dir, 'shard-0.rdb')
    // A byte inside a stored value (`value-N`, too short to be compressed): the file's structure stays whole, so the
    // damage is found by the checksum, deterministically (a flip in a length or type byte fails in varying ways).
    const at = readFileSync(file).indexOf('value-', Math.floor(backup.shards[0]!.bytes / 2)) + 'value-'.length
    expect(at).toBeGreaterThan('value-'.length)
    const fd = openSync(file, 'r+')
    writeSync(fd, Buffer.from([readFileSync(file)[at]! ^ 0xff]), 0, 1, at)
    closeSync(fd)
    const dirsBefore = drillDirs()
    const run = await runCli('backup/backup-drill', [dir], env())
    expect(run.exitCode).toBe(1)
    expect(run.stdout).not.toMatch(/PASS/)
    expect(run.stderr).toMatch(/fails verification: shard-0\.rdb: sha256 differs/)
    await expectPortsFreed(run.stderr)
    expect(drillDirs()).toEqual(dirsBefore)

    // Past verification (a manifest sealed for the flipped file): the scratch server itself refuses to load it.
    const { withScratchServer } = await import('../src/index.ts')
    await expect(withScratchServer(file, async () => 'loaded')).rejects.toThrow(/shard-0\.rdb: redis-server would not load it: .*(checksum|CRC|Short read|Bad)/i)
  })

  it('Ctrl-C during the drill exits 130 and still removes the throwaway cluster', async () => {
    const dirsBefore = drillDirs()
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'run.mjs'), 'backup', 'backup-drill', 'latest'], { cwd: join(REPO_ROOT, 'packages', 'backup'), env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    const code = new Promise<number | null>((resolve) => child.on('close', resolve))
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d
        if (stderr.includes('throwaway cluster up')) resolve()
      }),
    )
    child.kill('SIGINT')
    expect(await code).toBe(130)
    expect(stderr).toMatch(/stopped by Ctrl-C/)
    await expectPortsFreed(stderr)
    expect(drillDirs()).toEqual(dirsBefore)
  })

  it("the digest covers a stream's consumer groups: a new group, a read (pending entry) and its acknowledgement each change it", async () => {
    const { digestNodes } = await import('../src/index.ts')
    const masters = await connectAll(stack, stack.nodes.filter((n) => n.role === 'master'))
    const cluster = connectCluster(stack)
    try {
      const digest = async () => (await digestNodes(masters)).sha256
      await cluster.xadd('grouped', '*', 'f', 'v')
      const seen = [await digest()]
      await cluster.xgroup('CREATE', 'grouped', 'g', '0')
      seen.push(await digest())
      const read = (await cluster.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'grouped', '>')) as [string, [string, string[]][]][]
      const id = read[0]![1][0]![0]
      seen.push(await digest())
      await cluster.xack('grouped', 'g', id)
      seen.push(await digest())
      expect(new Set(seen).size).toBe(4)
    } finally {
      await cluster.del('grouped')
      cluster.disconnect()
      masters.forEach((m) => m.disconnect())
    }
  })
})
