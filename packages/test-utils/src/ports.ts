import { isPortFree } from '@redis-cluster/compose'

/**
 * Finds `count` client ports (each with its bus port at +10000) that are free
 * on 127.0.0.1, from a random base in 20000-39000: never the user's 6379-6384,
 * and unlikely to collide with another test file or a leftover run.
 */
export async function allocatePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 19000)
    const ports = Array.from({ length: count }, (_, i) => base + i)
    const free = await Promise.all(ports.flatMap((p) => [isPortFree(p), isPortFree(p + 10000)]))
    if (free.every(Boolean)) return ports
  }
  throw new Error(`no ${count} free port pairs found on 127.0.0.1`)
}
