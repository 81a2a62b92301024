import { setTimeout as sleep } from 'node:timers/promises'
import { discoverStack, type Stack } from '@redis-cluster/core'
import { collectReport, type ClusterReport, type NodeUp } from './report.ts'
import type { Rates } from './render-report.ts'

export interface WatchReportOptions {
  intervalMs: number
  /** Ends the watch (Ctrl-C): the loop returns after the refresh in flight. */
  signal: AbortSignal
  /** Called after every refresh; `rates` from the second refresh on. */
  onFrame: (report: ClusterReport, rates: Rates | undefined) => void
}

/**
 * Reads the report every `intervalMs` until `signal` aborts. Each refresh
 * connects anew (a node that went down or came back shows on the next one)
 * and reads the topology anew where it comes from the cluster (core's
 * discoverStack: an external cluster's added, removed or failed-over nodes
 * show on the next refresh too); rates are the counters' change since the
 * previous refresh.
 */
export async function watchReport(stack: Stack, { intervalMs, signal, onFrame }: WatchReportOptions): Promise<{ refreshes: number }> {
  let previous: { report: ClusterReport; at: number } | undefined
  let refreshes = 0
  let current = stack
  while (!signal.aborted) {
    // No seed answering ends no watch: the last known nodes are read, each row saying why it is silent.
    current = await discoverStack(current).catch(() => current)
    const report = await collectReport(current)
    const at = performance.now()
    if (signal.aborted) break
    onFrame(report, previous && measureRates(previous.report, report, (at - previous.at) / 1000))
    refreshes++
    previous = { report, at }
    await sleep(intervalMs, undefined, { signal }).catch(() => {})
  }
  return { refreshes }
}

/** ops/s and keys/s per node between two reports; a node that restarted in between (its counters went back) shows 0. */
export function measureRates(before: ClusterReport, after: ClusterReport, seconds: number): Rates {
  const earlier = new Map(before.nodes.filter((n): n is NodeUp => n.up).map((n) => [n.node, n]))
  return new Map(
    after.nodes
      .filter((n): n is NodeUp => n.up)
      .map((n) => {
        const was = earlier.get(n.node)
        const ops = was && n.commandsProcessed >= was.commandsProcessed ? (n.commandsProcessed - was.commandsProcessed) / seconds : 0
        return [n.node, { opsPerSec: ops, keysPerSec: was ? (n.keys - was.keys) / seconds : 0 }]
      }),
  )
}
