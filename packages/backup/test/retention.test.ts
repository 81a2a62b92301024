import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { applyRetention, listBackups } from '../src/index.ts'
import { backupName, sealManifest } from '../src/manifest.ts'

const DAY = 86_400_000

/** A backup directory as takeBackup leaves it (one small stand-in file: retention and list look at manifest and sizes only). */
function fakeBackup(root: string, started: Date): string {
  const name = backupName(started)
  const data = Buffer.from(`rdb of ${name}`)
  mkdirSync(join(root, name))
  writeFileSync(join(root, name, 'shard-0.rdb'), data)
  const shard = { index: 0, slots: [{ start: 0, end: 16383 }], master: { id: 'm', name: 'redis-node-0' }, replicas: [], source: { id: 'r', name: 'redis-node-3', role: 'replica' as const, address: '127.0.0.1:1' }, replOffset: 1, replId: 'x', keys: 1, keysBefore: 1, keysAfter: 1, file: 'shard-0.rdb', bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') }
  const manifest = sealManifest({ format: 1, toolkitVersion: 't', redisVersion: '7.0.15', name, startedAt: started.toISOString(), finishedAt: started.toISOString(), durationMs: 1, keys: 1, bytes: data.length, shards: [shard] })
  writeFileSync(join(root, name, 'manifest.json'), JSON.stringify(manifest))
  return name
}

describe('applyRetention()', () => {
  let root: string
  const now = Date.parse('2026-11-25T18:00:00Z')
  const ago = (days: number) => new Date(now - days * DAY)
  beforeEach(() => void (root = mkdtempSync(join(tmpdir(), 'rc-retention-'))))
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  it('keeps the N newest good backups', async () => {
    const names = [5, 4, 3, 2, 1].map((d) => fakeBackup(root, ago(d)))
    expect(await applyRetention(root, { keep: 2 }, now)).toEqual(names.slice(0, 3).reverse())
    expect(readdirSync(root).sort()).toEqual(names.slice(3))
  })

  it('--keep-days never deletes the newest good backup, however old; a bad one is not counted and left for a human', async () => {
    const [older, newest] = [20, 10].map((d) => fakeBackup(root, ago(d)))
    const bad = fakeBackup(root, ago(1))
    writeFileSync(join(root, bad, 'shard-0.rdb'), 'truncated')
    expect(await applyRetention(root, { keepDays: 3 }, now)).toEqual([older])
    expect(readdirSync(root).sort()).toEqual([newest, bad].sort())
    expect((await listBackups(root, now)).map((b) => [b.name, b.state])).toEqual([
      [bad, 'bad'],
      [newest, 'good'],
    ])
  })

  it('removes unfinished .tmp-* dirs older than a day, not younger ones (a run may still be writing)', async () => {
    const kept = fakeBackup(root, ago(0))
    for (const [name, days] of [['.tmp-old-1', 2], ['.tmp-young-2', 0.5]] as const) {
      mkdirSync(join(root, name))
      utimesSync(join(root, name), ago(days), ago(days))
    }
    expect(await applyRetention(root, { keep: 5 }, now)).toEqual(['.tmp-old-1'])
    expect(readdirSync(root).sort()).toEqual(['.tmp-young-2', kept])
  })
})
