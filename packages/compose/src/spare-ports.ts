import { readFileSync } from 'node:fs'
import { isPortFree } from './_ports.ts'

/** Bus port = client port + this, as in the spec (6379 → 16379). */
const BUS_OFFSET = 10000
const LOWEST = 12000

/**
 * The kernel's ephemeral range (connect() source ports). A test port inside
 * it can be taken at any moment by some outgoing connection, ours included.
 */
export function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (low && high) return { low, high }
  } catch {
    // not Linux: assume the IANA range
  }
  return { low: 49152, high: 65535 }
}

/**
 * Finds `count` client ports (each with its bus port at +10000) that are free
 * on 127.0.0.1: from a random base at or above 12000 (never the user's
 * 6379-6384), with client and bus ports all below the kernel's ephemeral range.
 */
export async function allocatePorts(count: number): Promise<number[]> {
  const { low } = ephemeralRange()
  const span = low - BUS_OFFSET - count - LOWEST
  if (span <= 0) throw new Error(`no room for test ports below the ephemeral range (starts at ${low})`)
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOWEST + Math.floor(Math.random() * span)
    const ports = Array.from({ length: count }, (_, i) => base + i)
    const free = await Promise.all(ports.flatMap((p) => [isPortFree(p), isPortFree(p + BUS_OFFSET)]))
    if (free.every(Boolean)) return ports
  }
  throw new Error(`no ${count} free port pairs found on 127.0.0.1`)
}
