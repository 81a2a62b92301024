import { join } from 'node:path'
import { connectAll, type Stack } from '@redis-cluster/core'
import { digestLines, digestNodes, keyLines, type Digest } from './digest.ts'
import { readManifest } from './manifest.ts'
import { restoreLogical } from './restore-logical.ts'
import { withScratchServer } from './scratch-server.ts'
import { withThrowawayCluster } from './throwaway-cluster.ts'

export interface DrillResult {
  readonly dir: string
  readonly name: string
  readonly pass: boolean
  /** Keys the manifest counted at backup time. */
  readonly manifestKeys: number
  /** The content of the backup's RDB files, and of the throwaway cluster after the restore. */
  readonly backup: Digest
  readonly restored: Digest
  readonly keysPerSecond: number
  readonly durationMs: number
  /** The throwaway cluster's client ports (free again when the drill returns). */
  readonly ports: readonly number[]
}

/**
 * Proves a backup restores, without touching the live cluster: restores it
 * (logically, verification first) into a throwaway local cluster with the
 * backup's number of shards (whatever runtime took it), then
 * compares the content digest of that cluster with the digest of the
 * backup's own RDB files, each loaded into a scratch server. Why the files
 * and not a digest stored at backup time: it needs no change to how backups
 * are taken, works on every backup already on disk, and checks what will
 * actually be restored (the files) rather than what the cluster held while
 * they were written; the cost is one more load of each RDB.
 */
export async function drillBackup(stack: Stack, dir: string, { progress = () => {} }: { progress?: (line: string) => void } = {}): Promise<DrillResult> {
  const started = Date.now()
  const manifest = await readManifest(dir)
  return withThrowawayCluster(stack, manifest.shards.length, async (throwaway) => {
    progress(`throwaway cluster up on ports ${throwaway.nodes.map((n) => n.port).join(', ')}; restoring ${manifest.name}`)
    const restore = await restoreLogical(throwaway, dir, { progress })
    const lines: Buffer[] = []
    for (const shard of manifest.shards) lines.push(...(await withScratchServer(join(dir, shard.file), keyLines)))
    const backup = digestLines(lines)
    const masters = await connectAll(throwaway, throwaway.nodes.filter((n) => n.role === 'master'))
    let restored: Digest
    try {
      restored = await digestNodes(masters)
    } finally {
      masters.forEach((m) => m.disconnect())
    }
    const pass = backup.keys === restored.keys && backup.sha256 === restored.sha256
    return { dir, name: manifest.name, pass, manifestKeys: manifest.keys, backup, restored, keysPerSecond: restore.keysPerSecond, durationMs: Date.now() - started, ports: throwaway.nodes.map((n) => n.port) }
  })
}

export function renderDrill(result: DrillResult): string {
  const counts = `backup ${result.backup.keys} keys (manifest ${result.manifestKeys}), restored ${result.restored.keys}`
  const digests = result.pass ? `digest ${result.backup.sha256.slice(0, 16)}` : `digests differ: backup ${result.backup.sha256.slice(0, 16)}, restored ${result.restored.sha256.slice(0, 16)}`
  return `${result.pass ? 'PASS' : 'FAIL'}: ${result.name}: ${counts}; ${digests}; restore ${result.keysPerSecond} keys/s, drill ${(result.durationMs / 1000).toFixed(1)}s`
}
