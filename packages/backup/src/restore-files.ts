import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describeFsError } from '@redis-cluster/core'

/** How the nodes name their AOF (CONFIG GET appenddirname / appendfilename), read while they ran. */
export interface AofNames {
  readonly dir: string
  readonly file: string
}

const ASIDE = '.before-restore-'
const exists = (path: string) => stat(path).then(() => true, () => false)

/**
 * Moves a node's `path` (dump.rdb, its AOF dir) to `<path>.before-restore-<stamp>`,
 * kept until the restore succeeded. Idempotent within one restore (one stamp):
 * when the aside copy exists already, the original is safe there and what is
 * at `path` now is this restore's own earlier placement, so it is dropped.
 */
async function setAside(path: string, stamp: string): Promise<void> {
  if (!(await exists(path))) return
  if (await exists(`${path}${ASIDE}${stamp}`)) await rm(path, { recursive: true, force: true })
  else await rename(path, `${path}${ASIDE}${stamp}`)
}

/** Copies into a temp name and renames: a crash never leaves a half-written file under the real name. */
async function copyAtomic(from: string, to: string): Promise<void> {
  await copyFile(from, `${to}.restore-tmp`)
  await rename(`${to}.restore-tmp`, to)
}

/**
 * Makes a stopped master's data dir hold `rdb` as its whole dataset. With
 * `appendonly yes` Redis 7.0 loads only the AOF: a missing AOF dir does NOT
 * fall back to dump.rdb, it starts EMPTY and writes an empty AOF base (tried
 * here on 7.0.15). So the RDB becomes the base of a fresh multi-part AOF: a
 * manifest naming one `type b` file, which Redis loads as an RDB and then
 * opens a new incr file on. No start with AOF off, no rewrite to wait for,
 * no window where a crash restarts the node empty. dump.rdb gets it too, for
 * a node configured with `appendonly no`. nodes.conf is never touched.
 */
export async function placeRdb(rdb: string, dataDir: string, aof: AofNames, stamp: string): Promise<void> {
  await onDisk(dataDir, async () => {
    const staged = join(dataDir, `${aof.dir}.restore-tmp`)
    await rm(staged, { recursive: true, force: true })
    await mkdir(staged)
    const base = `${aof.file}.1.base.rdb`
    await copyFile(rdb, join(staged, base))
    await writeFile(join(staged, `${aof.file}.manifest`), `file ${base} seq 1 type b\n`)
    await setAside(join(dataDir, aof.dir), stamp)
    await rename(staged, join(dataDir, aof.dir))
    await setAside(join(dataDir, 'dump.rdb'), stamp)
    await copyAtomic(rdb, join(dataDir, 'dump.rdb'))
  })
}

/** Sets a replica's dataset aside (dump.rdb and AOF dir; nodes.conf stays), so it starts empty and full-resyncs from its master. */
export async function clearData(dataDir: string, aof: AofNames, stamp: string): Promise<void> {
  await onDisk(dataDir, async () => {
    await setAside(join(dataDir, aof.dir), stamp)
    await setAside(join(dataDir, 'dump.rdb'), stamp)
  })
}

/** Deletes what a finished restore set aside in `dataDir`. */
export async function dropAside(dataDir: string, stamp: string): Promise<void> {
  await onDisk(dataDir, async () => {
    const names = await readdir(dataDir).catch(() => [])
    await Promise.all(names.filter((n) => n.endsWith(`${ASIDE}${stamp}`)).map((n) => rm(join(dataDir, n), { recursive: true, force: true })))
  })
}

async function onDisk(dataDir: string, work: () => Promise<void>): Promise<void> {
  try {
    await work()
  } catch (error) {
    throw describeFsError(error, { otherwise: `check ${dataDir}; run the restore again to finish it` })
  }
}
