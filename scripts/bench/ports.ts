import { setTimeout as sleep } from 'node:timers/promises'
import { isPortFree } from '../../packages/compose/src/index.ts'
import type { Stack } from '../../packages/core/src/index.ts'

/** Waits (up to 10 s) until every client and bus port of the stack can be bound again. */
export async function waitPortsFree(stack: Stack, timeoutMs = 10_000): Promise<void> {
  const ports = stack.nodes.flatMap((node) => [node.port, node.busPort])
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const taken = (await Promise.all(ports.map(async (port) => ((await isPortFree(port)) ? undefined : port)))).filter((p) => p !== undefined)
    if (taken.length === 0) return
    if (performance.now() > deadline) throw new Error(`ports still in use: ${taken.join(', ')}`)
    await sleep(20)
  }
}
