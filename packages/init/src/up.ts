import { connectAll, waitForHealthy, type Stack } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { createCluster, type CreateClusterResult } from './create.ts'
import { readdressNodes } from './readdress.ts'

export interface FormClusterResult extends CreateClusterResult {
  readonly healthy: true
  readonly nodes: number
  readonly elapsedMs: number
  /** How the layout differs from the spec's (after a failover), and the commands that restore it. */
  readonly drift: readonly string[]
  readonly restore: readonly string[]
}

/** Waits for a cluster this toolkit does not form (external runtime) to be healthy, and reports it as `formCluster` does. */
export async function awaitCluster(stack: Stack): Promise<FormClusterResult> {
  const started = performance.now()
  const { drift, restore } = await waitForHealthy(stack)
  return { action: 'existing', steps: [], healthy: true, nodes: stack.nodes.length, elapsedMs: Math.round(performance.now() - started), drift, restore }
}

/** Forms the cluster if needed and waits for full health; the nodes must already be running. */
export async function formCluster(stack: Stack, runtime: Runtime): Promise<FormClusterResult> {
  const started = performance.now()
  const clients = await connectAll(stack)
  try {
    // first: a formed cluster whose ports changed is "formed" but no node reaches another, so health never comes
    const readdressed = await readdressNodes(stack, runtime, clients)
    const result = await createCluster(stack, runtime, clients)
    const { drift, restore } = await waitForHealthy(stack, clients)
    return { ...result, steps: [...readdressed, ...result.steps], healthy: true, nodes: stack.nodes.length, elapsedMs: Math.round(performance.now() - started), drift, restore }
  } finally {
    for (const client of clients) client.disconnect()
  }
}
