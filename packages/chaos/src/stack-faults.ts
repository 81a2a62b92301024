import { ConfigError, TemporaryError, answered, assessHealth, describeDrift, readNodes, summarize, waitForHealthy, withRunContext, type NodeAnswer, type SlotRange, type Stack, type StackNode } from '@redis-cluster/core'
import type { FaultOptions, NodeFault, Runtime } from '@redis-cluster/compose'
import { failoverNode, restoreLayout } from '@redis-cluster/init'
import { SCENARIO_LIST, type Scenario } from './scenarios.ts'

/** A master and its replica as they are now (after earlier failovers, not as the spec says). */
export interface Shard {
  readonly master: StackNode
  readonly replica: StackNode
  readonly slots: readonly SlotRange[]
}

/**
 * Refuses what a drill must not touch: a cluster that is not healthy (the
 * drill would measure an old fault, and restoring it is not ours to do), and
 * nodes this toolkit did not start, unless the user says they know (the
 * faults then reach only what the runtime can name). Returns the readings.
 */
export async function assertDrillable(stack: Stack, runtime: Runtime, { destructive }: { destructive: boolean }): Promise<NodeAnswer[]> {
  const [states, readings] = await Promise.all([runtime.ps(stack), readNodes(stack)])
  // A node that answers while the runtime has no process or container of it runs under someone else's control.
  const foreign = stack.nodes.filter((_, i) => states[i]?.state !== 'running' && answered(readings[i]!)).map((n) => n.name)
  if (foreign.length > 0 && !destructive) {
    throw new ConfigError(
      `${foreign.join(', ')} ${foreign.length === 1 ? 'answers but is' : 'answer but are'} not ${foreign.length === 1 ? 'a node' : 'nodes'} this toolkit started (${runtime.name} runtime): a drill kills and pauses nodes`,
      'start the stack with `pnpm run up`; to drill a cluster started elsewhere anyway, pass --i-know-this-is-destructive',
    )
  }
  const report = assessHealth(stack, readings)
  if (!report.healthy) {
    throw new TemporaryError(`the cluster is not healthy, so a drill would measure an old fault: ${summarize(report.problems)}`, 'wait for it or repair it (`pnpm status` shows what is wrong), then run the drill again')
  }
  return readings.filter(answered)
}

/**
 * Refuses, before any drill starts, what this runtime cannot drill: nodes it
 * did not start (Runtime.ownsNodes: someone else's cluster) unless the user
 * says they know, and scenarios that need a fault the runtime cannot inject
 * (Runtime.faults: the external runtime can only pause, with DEBUG SLEEP).
 */
export function assertRuntimeCan(runtime: Runtime, scenarios: readonly Scenario[], { destructive }: { destructive: boolean }): void {
  if (!runtime.ownsNodes && !destructive) {
    throw new ConfigError(
      `the ${runtime.name} runtime's nodes were not started by this toolkit, and a drill fails over and pauses them under a live writer`,
      'to drill this cluster anyway (not in production), pass --i-know-this-is-destructive',
    )
  }
  const runnable = (s: Scenario) => s.faults.every((f) => runtime.faults.includes(f))
  const refused = scenarios.filter((s) => !runnable(s))
  if (refused.length > 0) {
    const missing = [...new Set(refused.flatMap((s) => s.faults.filter((f) => !runtime.faults.includes(f))))]
    throw new ConfigError(
      `${refused.map((s) => s.name).join(', ')} ${refused.length === 1 ? 'needs' : 'need'} to ${missing.join(' or ')} nodes, which the ${runtime.name} runtime cannot: ${runtime.ownsNodes ? 'it cannot reach those nodes' : 'it reaches the nodes only by Redis connections, never their processes or hosts'}`,
      `scenarios that can run here: ${SCENARIO_LIST.filter(runnable).map((s) => s.name).join(', ')}; the others need a local or compose stack`,
    )
  }
}

/** The shards in node order of their masters, from one reading of every node. */
export function currentShards(readings: readonly NodeAnswer[]): Shard[] {
  return readings
    .filter((r) => r.myself.role === 'master' && r.myself.slots.length > 0)
    .map((master) => {
      const replica = readings.find((r) => r.myself.masterId === master.id)
      if (!replica) throw new TemporaryError(`${master.node.name} has no replica`, 'run `pnpm status`')
      return { master: master.node, replica: replica.node, slots: master.myself.slots }
    })
}

/**
 * Applies faults and remembers what needs undoing, so the stack can be put
 * back whatever happens in between (an expectation failing, a timeout, Ctrl-C).
 */
export class FaultLog {
  private paused = new Set<StackNode>()
  private down = new Set<StackNode>()

  constructor(
    private readonly stack: Stack,
    private readonly runtime: Runtime,
  ) {}

  async apply(nodes: readonly StackNode[], fault: NodeFault, options?: FaultOptions): Promise<void> {
    // Recorded first: a fault interrupted half-way is undone too (undoing is idempotent).
    const undo = fault === 'pause' ? this.paused : fault === 'kill' ? this.down : undefined
    nodes.forEach((n) => undo?.add(n))
    try {
      await this.runtime.fault(this.stack, nodes, fault, options)
    } catch (error) {
      // The runtime names every node before it touches one: refused, it changed nothing.
      if (error instanceof ConfigError) nodes.forEach((n) => undo?.delete(n))
      throw error
    }
    if (fault === 'resume') nodes.forEach((n) => this.paused.delete(n))
  }

  /** Resumes paused nodes and starts killed ones; resolves once they answer PING. */
  async bringBack(): Promise<void> {
    if (this.paused.size > 0) await this.apply([...this.paused], 'resume')
    if (this.down.size > 0) {
      await this.runtime.start(this.stack)
      this.down.clear()
    }
  }
}

/**
 * Puts the stack back as it was: nodes resumed and restarted, the cluster
 * healthy, the spec's layout restored (init's restoreLayout: planned
 * failovers back), and the drilled shard's master master again where the
 * stack has no spec layout to restore (an external cluster: put back as the
 * drill found it). Runs in a run context of its own, so it still works after
 * the drill's run was stopped (Ctrl-C): the stop is why it must run.
 */
export async function restoreStack(stack: Stack, faults: FaultLog, shard: Shard, progress: (line: string) => void): Promise<string[]> {
  return withRunContext({ deadline: Date.now() + stack.timeoutMs, signal: new AbortController().signal }, async () => {
    await faults.bringBack()
    await waitForHealthy(stack)
    const { swapped } = await restoreLayout(stack, { progress })
    // With a spec layout (nodes that carry their spec range) restoreLayout was the whole answer.
    const now = stack.nodes.some((n) => n.slots) ? [] : (await readNodes(stack)).filter(answered)
    const [master, replica] = [shard.master, shard.replica].map((node) => now.find((r) => r.node === node))
    if (master && replica && master.myself.masterId === replica.id) {
      await failoverNode(stack, master.node.name, { progress })
      swapped.push(master.node.name)
    }
    const drift = describeDrift(assessHealth(stack, await readNodes(stack)))
    if (drift) throw new TemporaryError(`after the drill: ${drift}`, 'run `pnpm cluster:failover --restore-layout`')
    return swapped
  })
}

