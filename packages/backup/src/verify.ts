import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { readManifest } from './manifest.ts'
import { checkRdb, sha256File } from './rdb.ts'

export interface VerifyResult {
  readonly dir: string
  readonly good: boolean
  readonly keys: number
  readonly bytes: number
  /** One line per bad file: `shard-1.rdb: sha256 differs from the manifest's`. */
  readonly problems: readonly string[]
}

/**
 * Re-checks a backup as restore will trust it: the manifest (present, a
 * format we read, its digest intact: readManifest throws CheckFailedError
 * otherwise), and for every RDB its size, sha256 and redis-check-rdb
 * validity with the key count the manifest names. Every file is checked, so
 * all problems are named at once.
 */
export async function verifyBackup(dir: string): Promise<VerifyResult> {
  const manifest = await readManifest(dir)
  const problems = (
    await Promise.all(
      manifest.shards.map(async (shard): Promise<string | undefined> => {
        const path = join(dir, shard.file)
        const size = await stat(path).then((s) => s.size, () => -1)
        if (size < 0) return `${shard.file}: missing`
        if (size !== shard.bytes) return `${shard.file}: ${size} bytes, the manifest says ${shard.bytes} (truncated or replaced)`
        if ((await sha256File(path)) !== shard.sha256) return `${shard.file}: sha256 differs from the manifest's (the file changed since the backup)`
        const check = await checkRdb(path)
        if (!check.ok) return `${shard.file}: not a valid RDB: ${check.problem}`
        if (check.keys !== shard.keys) return `${shard.file}: holds ${check.keys} keys, the manifest says ${shard.keys}`
        return undefined
      }),
    )
  ).filter((p): p is string => p !== undefined)
  return { dir, good: problems.length === 0, keys: manifest.keys, bytes: manifest.bytes, problems }
}

export function renderVerify(result: VerifyResult): string {
  return result.good ? `${result.dir}: good (${result.keys} keys)` : `${result.dir}: BAD\n${result.problems.map((p) => `  ${p}`).join('\n')}`
}
