import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { answered, connectNode, currentRun, formatRanges, readNodes, waitFor, waitForHealthy, type NodeAnswer, type NodeClient, type SlotRange, type Stack, type StackNode } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { findLostWrites, startWriter } from './writer.ts'
import { countWrites, lostAckedBeforeFault, throughput, writableAfter, type Throughput, type WriteCounts } from './measure.ts'
import { FaultLog, assertDrillable, currentShards, restoreStack } from './stack-faults.ts'
import type { DrillFacts, Expectation, Scenario, ScenarioContext, ScenarioName } from './scenarios.ts'

export interface DrillOptions {
  /** Each write also `WAIT 1 500` on its master: acknowledged means on a replica too. */
  waitReplicas?: boolean
  /** pause-master-short: how long to pause the master (default a quarter of the node timeout). */
  pauseMs?: number
  /** Drill nodes this toolkit did not start (--i-know-this-is-destructive). */
  destructive?: boolean
  progress?: (line: string) => void
}

export interface DrillReport {
  readonly scenario: ScenarioName
  readonly ok: boolean
  readonly runtime: string
  readonly nodeTimeoutMs: number
  readonly waitReplicas: boolean
  /** The nodes the fault hit, and the slots of the shard it hit. */
  readonly faulted: readonly string[]
  readonly slots: string
  readonly faultAt: string
  /** ms after the fault; null when it did not happen. */
  readonly failoverAfterMs: number | null
  readonly writableAfterMs: number | null
  readonly healthyAfterMs: number | null
  readonly writes: WriteCounts & { readonly lost: number; readonly lostAckedBeforeFaultMs: number | null }
  readonly throughput: Throughput
  /** Each node at the end of the drill, before the spec's layout was restored. */
  readonly layout: readonly { node: string; role: string; master: string | null; slots: string }[]
  /** Planned failovers that put the layout back afterwards (the spec's, or as the drill found it). */
  readonly restored: readonly string[]
  readonly expectations: readonly Expectation[]
}

/** 4096 keys spread over all slots; 64 writes in flight: ~10k acknowledged writes/s on 2 cores (busy), steady, bounded. */
const KEYS = 4096
const CONCURRENCY = 64
const WAIT_REPLICAS_MS = 500
const MAX_WRITES = 2_000_000 // ~120 MB of records at most
/** Writer traffic before the fault (the baseline) and after the cluster is healthy again. */
const WARMUP_MS = 1000
const AFTER_MS = 1000

/**
 * One drill: a writer runs, the scenario injects its fault and waits for the
 * reaction, every node is brought back, the cluster waited healthy, the
 * writer stopped and every acknowledged write read back. Whatever happens
 * (a failed wait, Ctrl-C) the stack is then put back: nodes resumed and
 * restarted, healthy, the spec's layout restored (or, without one, the
 * drilled shard's roles as the drill found them).
 */
export async function runDrill(stack: Stack, runtime: Runtime, scenario: Scenario, options: DrillOptions = {}): Promise<DrillReport> {
  const progress = options.progress ?? (() => {})
  const before = await assertDrillable(stack, runtime, { destructive: Boolean(options.destructive) })
  const shard = currentShards(before)[0]!
  const nodeTimeoutMs = await readNodeTimeout(stack, shard.master)
  const prefix = `chaos:${randomBytes(4).toString('hex')}:`
  const inShard = await keysInSlots(stack, shard.master, prefix, shard.slots)
  const affected = scenario.hits === 'all' ? () => true : (key: number) => inShard.has(key)
  const faults = new FaultLog(stack, runtime)
  const watch = watchPromotion(stack, shard.replica)
  const writer = startWriter(stack, { prefix, keys: KEYS, concurrency: CONCURRENCY, waitReplicasMs: options.waitReplicas ? WAIT_REPLICAS_MS : undefined, maxWrites: MAX_WRITES, maxMs: stack.timeoutMs })
  let startAt = performance.now()
  let faultAt = startAt
  const seen: Record<string, string> = {}
  const context: ScenarioContext = {
    stack, runtime, shard, faults, nodeTimeoutMs, pauseMs: options.pauseMs, waitReplicas: Boolean(options.waitReplicas), progress, seen,
    waitForFailover: () => waitFor(async () => watch.promotedAt() !== undefined || `${shard.replica.name} is still a replica`, { timeoutMs: nodeTimeoutMs * 3 + 15_000, intervalMs: 10, what: `${shard.replica.name} to take over from ${shard.master.name}` }),
    waitWritable: () => waitFor(async () => writableAfter(writer.log, faultAt, affected) !== null || `no write to ${formatRanges(shard.slots)} acknowledged since`, { timeoutMs: nodeTimeoutMs * 3 + 15_000, intervalMs: 20, what: `writes to ${formatRanges(shard.slots)} to succeed again` }),
  }
  let measured: Omit<DrillReport, 'restored' | 'ok'>
  try {
    // The baseline starts with the first acknowledged write, not with the client's connect and slot discovery.
    await waitFor(async () => writer.log.some((w) => w.ok) || 'none yet', { timeoutMs: 15_000, intervalMs: 5, what: "the writer's first acknowledged write" })
    startAt = performance.now()
    await sleep(WARMUP_MS, undefined, { signal: currentRun()?.signal })
    progress(`${scenario.name}: ${writer.log.length} writes in the warm-up; fault on ${shard.master.name} (master of ${formatRanges(shard.slots)}) / ${shard.replica.name}`)
    faultAt = performance.now()
    const faultDate = new Date()
    await scenario.inject(context)
    progress(`${scenario.name}: fault injected and watched; bringing every node back`)
    await faults.bringBack()
    await waitForHealthy(stack)
    const healthyAt = performance.now()
    progress(`${scenario.name}: healthy again after ${((healthyAt - faultAt) / 1000).toFixed(2)}s`)
    await sleep(AFTER_MS, undefined, { signal: currentRun()?.signal })
    const log = await writer.stop()
    const stopAt = performance.now()
    watch.stop()
    const end = (await readNodes(stack)).filter(answered)
    const lost = await findLostWrites(stack, prefix, log)
    const promotedAt = watch.promotedAt()
    const counts = countWrites(log, affected)
    const facts: DrillFacts = {
      nodeTimeoutMs,
      waitReplicas: Boolean(options.waitReplicas),
      failoverAfterMs: promotedAt === undefined ? null : Math.round(promotedAt - faultAt),
      writableAfterMs: round(writableAfter(log, faultAt, affected)),
      healthyAfterMs: Math.round(healthyAt - faultAt),
      ...counts,
      lost: lost.length,
      lostAckedBeforeFaultMs: round(lostAckedBeforeFault(lost, faultAt)),
      oldMasterFollowsNew: idOf(end, shard.replica) !== undefined && end.find((r) => r.node === shard.master)?.myself.masterId === idOf(end, shard.replica),
      sameNodeIds: before.every((r) => idOf(end, r.node) === r.id),
      seen,
    }
    measured = {
      scenario: scenario.name,
      runtime: runtime.name,
      nodeTimeoutMs,
      waitReplicas: facts.waitReplicas,
      faulted: { master: [shard.master], replica: [shard.replica], shard: [shard.master, shard.replica], all: stack.nodes }[scenario.hits].map((n) => n.name),
      slots: scenario.hits === 'all' ? 'all' : formatRanges(shard.slots),
      faultAt: faultDate.toISOString(),
      failoverAfterMs: facts.failoverAfterMs,
      writableAfterMs: facts.writableAfterMs,
      healthyAfterMs: facts.healthyAfterMs,
      writes: { ...counts, failedWindowMs: round(counts.failedWindowMs), lost: lost.length, lostAckedBeforeFaultMs: facts.lostAckedBeforeFaultMs },
      throughput: throughput(log, { startAt, faultAt, healthyAt, stopAt }),
      layout: end.map((r) => ({ node: r.node.name, role: r.myself.role, master: end.find((m) => m.id === r.myself.masterId)?.node.name ?? null, slots: formatRanges(r.myself.slots) })),
      expectations: scenario.expect(facts),
    }
  } catch (error) {
    watch.stop()
    // Nodes first (Ctrl-C leaves little time), while the writer drains its last writes.
    const restoring = restoreStack(stack, faults, shard, progress).catch((restoreError: Error) => progress(`${scenario.name}: could not put the stack back: ${restoreError.message}`))
    await Promise.all([writer.stop(), restoring])
    throw error
  }
  progress(`${scenario.name}: putting the layout back`)
  const restored = await restoreStack(stack, faults, shard, progress)
  return { ...measured, ok: measured.expectations.every((e) => e.ok), restored }
}

const round = (value: number | null) => (value === null ? null : Math.round(value))
const idOf = (readings: readonly NodeAnswer[], node: StackNode) => readings.find((r) => r.node === node)?.id

/** The node timeout the nodes run with (redis.conf, or REDIS_CLUSTER_NODE_TIMEOUT): what failover times are measured against. */
async function readNodeTimeout(stack: Stack, node: StackNode): Promise<number> {
  const client = await connectNode(stack, node)
  try {
    const [, value] = (await client.config('GET', 'cluster-node-timeout')) as [string, string]
    return Number(value)
  } finally {
    client.disconnect()
  }
}

/** Which of the writer's keys (`<prefix>0` .. `<prefix>4095`) hash into the shard's slots (CLUSTER KEYSLOT, one pipeline). */
async function keysInSlots(stack: Stack, node: StackNode, prefix: string, slots: readonly SlotRange[]): Promise<Set<number>> {
  const client = await connectNode(stack, node)
  try {
    const pipeline = client.pipeline()
    for (let key = 0; key < KEYS; key++) pipeline.cluster('KEYSLOT', `${prefix}${key}`)
    const replies = (await pipeline.exec()) ?? []
    return new Set(replies.flatMap(([, slot], key) => (slots.some((r) => Number(slot) >= r.start && Number(slot) <= r.end) ? [key] : [])))
  } finally {
    client.disconnect()
  }
}

/**
 * Polls the replica's ROLE every 10 ms until it says master: the real
 * promotion time, which the writer's "writable again" is compared with.
 * A replica that is down (killed, restarting) is simply polled again.
 */
function watchPromotion(stack: Stack, replica: StackNode): { promotedAt(): number | undefined; stop(): void } {
  let promotedAt: number | undefined
  let stopped = false
  const deadline = Date.now() + stack.timeoutMs
  void (async () => {
    let client: NodeClient | undefined
    while (!stopped && promotedAt === undefined && Date.now() < deadline) {
      try {
        client ??= await connectNode(stack, replica, { connectTimeoutMs: 500, commandTimeoutMs: 500 })
        const [role] = (await client.call('ROLE')) as [string]
        if (role === 'master') promotedAt = performance.now()
      } catch {
        client?.disconnect()
        client = undefined
      }
      await sleep(10)
    }
    client?.disconnect()
  })()
  return { promotedAt: () => promotedAt, stop: () => void (stopped = true) }
}
