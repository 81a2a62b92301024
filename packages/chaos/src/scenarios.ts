import { setTimeout as sleep } from 'node:timers/promises'
import { SLOT_COUNT, answered, countSlots, currentRun, readNodes, waitFor, type Stack } from '@redis-cluster/core'
import type { NodeFault, Runtime } from '@redis-cluster/compose'
import { failoverNode } from '@redis-cluster/init'
import type { FaultLog, Shard } from './stack-faults.ts'

export const SCENARIOS = ['kill-master', 'kill-replica', 'pause-master-long', 'pause-master-short', 'kill-shard', 'restart-all', 'manual-failover'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

/** What a scenario gets to inject its fault and watch the cluster react. */
export interface ScenarioContext {
  readonly stack: Stack
  readonly runtime: Runtime
  /** The shard the fault hits (the first one). */
  readonly shard: Shard
  readonly faults: FaultLog
  readonly nodeTimeoutMs: number
  /** pause-master-short: how long to pause (default a quarter of the node timeout). */
  readonly pauseMs: number | undefined
  /** --wait-replicas: a master without a live replica acknowledges nothing. */
  readonly waitReplicas: boolean
  readonly progress: (line: string) => void
  /** Resolves once the shard's replica is master (seen by a 10 ms poll of ROLE). */
  waitForFailover(): Promise<void>
  /** Resolves once a write to the shard's slots, sent after its last failure, was acknowledged. */
  waitWritable(): Promise<void>
  /** What the scenario saw that its expectations need (e.g. the cluster state during an outage). */
  readonly seen: Record<string, string>
}

/** What the drill measured, for the expectations. Times are ms after the fault; null when it did not happen. */
export interface DrillFacts {
  readonly nodeTimeoutMs: number
  readonly waitReplicas: boolean
  readonly failoverAfterMs: number | null
  readonly writableAfterMs: number | null
  readonly healthyAfterMs: number | null
  readonly failed: number
  /** Failed writes outside the shard the fault hit. */
  readonly failedElsewhere: number
  readonly failedWindowMs: number | null
  readonly lost: number
  /** How long before the fault the earliest lost write was acknowledged (ms; negative: after the fault). */
  readonly lostAckedBeforeFaultMs: number | null
  /** The shard's old master replicates its old replica at the end of the drill (before the layout is restored). */
  readonly oldMasterFollowsNew: boolean
  readonly sameNodeIds: boolean
  readonly seen: Readonly<Record<string, string>>
}

export interface Expectation {
  readonly expectation: string
  readonly ok: boolean
  readonly observed: string
}

export interface Scenario {
  readonly name: ScenarioName
  readonly summary: string
  /** Which nodes the fault hits: the shard's master, its replica, both, or every node (then every slot is affected). */
  readonly hits: 'master' | 'replica' | 'shard' | 'all'
  /** The runtime faults it injects: a runtime that cannot inject one of them (Runtime.faults) cannot run it. */
  readonly faults: readonly NodeFault[]
  /** Injects the fault and waits for the reaction it is about; the drill then brings every node back. */
  inject(context: ScenarioContext): Promise<void>
  expect(facts: DrillFacts): Expectation[]
}

/**
 * AOF `appendfsync everysec`: a node killed may lose the writes of its last
 * second, and Redis lets an fsync lag up to 2 s more before it blocks writes.
 */
const EVERYSEC_WINDOW_MS = 3000

/**
 * How soon Redis promotes the replica of a dead master: a node pings a peer
 * only once its last pong is half a node timeout old, so a kill is noticed
 * 1 to 1.5 node timeouts later; then the FAIL vote and the replica's own
 * 0.5-1 s election delay (measured: 2.1 s at 1000, 7.7 s at 5000).
 */
export const promotionBoundMs = (nodeTimeoutMs: number) => nodeTimeoutMs * 1.5 + 2000

const ms = (value: number | null) => (value === null ? 'never' : `${(value / 1000).toFixed(2)}s`)
const check = (expectation: string, ok: boolean, observed: string): Expectation => ({ expectation, ok, observed })
const healthy = (f: DrillFacts) => check('healthy again after the nodes came back', f.healthyAfterMs !== null, `after ${ms(f.healthyAfterMs)}`)
const writable = (f: DrillFacts) => check('writes to the slots hit succeed again', f.writableAfterMs !== null, `after ${ms(f.writableAfterMs)}`)
const lostReported = (f: DrillFacts, why: string) => check(`acknowledged writes lost are reported (${why})`, true, `${f.lost} lost`)
const noLoss = (f: DrillFacts, what = 'no acknowledged write lost') => check(what, f.lost === 0, `${f.lost} lost`)
const lossWithinFsync = (f: DrillFacts) =>
  check(
    `no acknowledged write lost beyond appendfsync everysec (${EVERYSEC_WINDOW_MS / 1000}s before the fault)`,
    f.lost === 0 || (f.lostAckedBeforeFaultMs !== null && f.lostAckedBeforeFaultMs <= EVERYSEC_WINDOW_MS),
    f.lost === 0 ? '0 lost' : `${f.lost} lost, the earliest acknowledged ${ms(f.lostAckedBeforeFaultMs)} before the fault`,
  )

/**
 * Kills or pauses the shard's master and waits until its replica took over
 * and writes to the shard succeed again; with --wait-replicas only until the
 * takeover: the new master acknowledges nothing until it has a replica again.
 */
async function faultMasterUntilFailover(c: ScenarioContext, fault: 'kill' | 'pause'): Promise<void> {
  // A pause the runtime must time up front (DEBUG SLEEP) outlasts the promotion bound by a node timeout.
  await c.faults.apply([c.shard.master], fault, { pauseMs: promotionBoundMs(c.nodeTimeoutMs) + c.nodeTimeoutMs })
  await c.waitForFailover()
  if (!c.waitReplicas) await c.waitWritable()
}

export const SCENARIO_LIST: readonly Scenario[] = [
  {
    name: 'kill-master',
    hits: 'master',
    faults: ['kill'],
    summary: 'SIGKILL (docker kill) a master: its replica takes over within 1.5 x node timeout + 2 s',
    inject: (c) => faultMasterUntilFailover(c, 'kill'),
    expect: (f) => [
      check(`the replica is promoted within 1.5 x node timeout + 2s (${ms(promotionBoundMs(f.nodeTimeoutMs))})`, f.failoverAfterMs !== null && f.failoverAfterMs <= promotionBoundMs(f.nodeTimeoutMs), `after ${ms(f.failoverAfterMs)}`),
      writable(f),
      f.waitReplicas ? noLoss(f, 'no acknowledged write lost (--wait-replicas)') : lostReported(f, 'without --wait-replicas Redis may lose the last writes'),
      healthy(f),
    ],
  },
  {
    name: 'kill-replica',
    hits: 'replica',
    faults: ['kill'],
    summary: 'SIGKILL a replica: no write fails; it comes back and resyncs',
    async inject(c) {
      await c.faults.apply([c.shard.replica], 'kill')
      await sleep(Math.max(1000, c.nodeTimeoutMs), undefined, { signal: currentRun()?.signal }) // long enough for the cluster to mark it failed
    },
    expect: (f) => [
      f.waitReplicas
        ? check('no write to the other shards fails (--wait-replicas: its master has no replica to wait for)', f.failedElsewhere === 0, `${f.failedElsewhere} failed`)
        : check('no write fails', f.failed === 0, `${f.failed} failed`),
      noLoss(f),
      check('the replica comes back and resyncs (healthy)', f.healthyAfterMs !== null, `after ${ms(f.healthyAfterMs)}`),
    ],
  },
  {
    name: 'pause-master-long',
    hits: 'master',
    faults: ['pause', 'resume'],
    summary: 'SIGSTOP (docker pause; DEBUG SLEEP on external) a master past the node timeout: failover; resumed, it rejoins as a replica',
    async inject(c) {
      await faultMasterUntilFailover(c, 'pause')
      await c.faults.apply([c.shard.master], 'resume')
    },
    expect: (f) => [
      check('the replica is promoted', f.failoverAfterMs !== null, `after ${ms(f.failoverAfterMs)}`),
      writable(f),
      check('resumed, the old master rejoins as a replica of the new one', f.oldMasterFollowsNew, f.oldMasterFollowsNew ? 'it does' : 'it does not'),
      lostReported(f, 'writes the paused master took are the split-brain window'),
      healthy(f),
    ],
  },
  {
    name: 'pause-master-short',
    hits: 'master',
    faults: ['pause', 'resume'],
    summary: 'SIGSTOP a master for under half the node timeout: no failover, writes resume',
    async inject(c) {
      const pauseMs = c.pauseMs ?? c.nodeTimeoutMs / 4
      await c.faults.apply([c.shard.master], 'pause', { pauseMs })
      // bounded by the drill's deadline too, whatever --pause-ms says
      await sleep(pauseMs, undefined, { signal: currentRun()?.signal })
      await c.faults.apply([c.shard.master], 'resume')
      await c.waitWritable()
    },
    expect: (f) => [
      check('no failover', f.failoverAfterMs === null, f.failoverAfterMs === null ? 'none' : `the replica took over after ${ms(f.failoverAfterMs)}`),
      writable(f),
      noLoss(f),
      healthy(f),
    ],
  },
  {
    name: 'kill-shard',
    hits: 'shard',
    faults: ['kill'],
    summary: 'SIGKILL a master and its replica: the slots fail and the cluster is down; restarted, healthy with the data from disk',
    async inject(c) {
      // The replica first: killed the other way round, it could be promoted in between.
      await c.faults.apply([c.shard.replica], 'kill')
      await c.faults.apply([c.shard.master], 'kill')
      const down = SLOT_COUNT - countSlots(c.shard.slots)
      await waitFor(
        async () => {
          const survivors = (await readNodes(c.stack)).filter(answered)
          const notYet = survivors.filter((r) => r.info.cluster_state !== 'fail' || Number(r.info.cluster_slots_ok) !== down)
          if (notYet.length > 0) return `${notYet[0]!.node.name}: cluster_state:${notYet[0]!.info.cluster_state}, cluster_slots_ok:${notYet[0]!.info.cluster_slots_ok}`
          c.seen.outage = `${survivors.length} nodes report cluster_state:fail and cluster_slots_ok:${down}/${SLOT_COUNT}`
          return true
        },
        { timeoutMs: c.nodeTimeoutMs * 3 + 15_000, intervalMs: 50, what: 'the cluster to report the shard down' },
      )
    },
    expect: (f) => [
      check("while down, every other node reports cluster_state:fail and the shard's slots failed", f.seen.outage !== undefined, f.seen.outage ?? 'not seen'),
      healthy(f),
      lossWithinFsync(f),
    ],
  },
  {
    name: 'restart-all',
    summary: 'restart every node (clean stop, start): same node ids, healthy, nothing lost beyond appendfsync everysec',
    hits: 'all',
    faults: ['restart'],
    async inject(c) {
      await c.faults.apply(c.stack.nodes, 'restart')
    },
    expect: (f) => [check('every node keeps its node id', f.sameNodeIds, f.sameNodeIds ? 'same ids' : 'ids changed'), healthy(f), writable(f), lossWithinFsync(f)],
  },
  {
    name: 'manual-failover',
    hits: 'master',
    faults: [],
    summary: 'planned CLUSTER FAILOVER under load: nothing lost, writes fail only inside a short window',
    async inject(c) {
      await failoverNode(c.stack, c.shard.master.name, { progress: c.progress })
      await c.waitWritable()
    },
    expect: (f) => [
      check('the replica is promoted', f.failoverAfterMs !== null, `after ${ms(f.failoverAfterMs)}`),
      noLoss(f),
      check('writes fail only inside a window under 2s', f.failedWindowMs === null || f.failedWindowMs < 2000, f.failed === 0 ? 'no write failed' : `${f.failed} failed within ${ms(f.failedWindowMs)}`),
    ],
  },
]

/** The scenario of that name, or undefined. */
export function findScenario(name: string): Scenario | undefined {
  return SCENARIO_LIST.find((s) => s.name === name)
}
