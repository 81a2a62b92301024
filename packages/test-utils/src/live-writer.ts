import type { Cluster } from 'ioredis'

export interface LiveWriter {
  /** Stops writing; resolves with every write the cluster acknowledged (key → value). */
  stop(): Promise<ReadonlyMap<string, string>>
  /** Every write that failed so far, as `key: error` (a test that must fail no write expects none). */
  readonly failures: readonly string[]
}

/**
 * Writes keys `<prefix>:N` through a cluster client, 20 at a time, until
 * stopped: the load a reshard or rebalance must not lose a write of. Only a
 * write that returned OK is acknowledged and must survive; one that errored
 * (a redirect mid-move, a timeout) was never promised.
 */
export function startWriter(cluster: Cluster, prefix = 'w'): LiveWriter {
  const acked = new Map<string, string>()
  const failures: string[] = []
  let stopped = false
  let i = 0
  const running = (async () => {
    while (!stopped) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const key = `${prefix}:${i++}`
          const reply = await cluster.set(key, `v${key}`).catch((error: Error) => void failures.push(`${key}: ${error.message}`))
          if (reply === 'OK') acked.set(key, `v${key}`)
        }),
      )
    }
  })()
  return {
    failures,
    async stop() {
      stopped = true
      await running
      return acked
    },
  }
}

/** The acknowledged writes that do not read back with their value. */
export async function missingWrites(cluster: Cluster, acked: ReadonlyMap<string, string>): Promise<string[]> {
  const missing: string[] = []
  for (const [key, value] of acked) if ((await cluster.get(key)) !== value) missing.push(key)
  return missing
}
