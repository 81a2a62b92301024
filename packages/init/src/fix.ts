import {
  answered,
  assessHealth,
  connectAll,
  connectNode,
  isEntryOf,
  waitForHealthy,
  TemporaryError,
  type NodeAnswer,
  type NodeReading,
  type NodeSilence,
  type Problem,
  type Stack,
  type StackNode,
  readNodes,
  replicationAuth,
  summarize,
  waitFor,
} from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { checkCluster, type CheckResult } from './check.ts'
import { promote } from './failover.ts'
import { coverSlots, planCover } from './_cover-slots.ts'
import { planClaims, settleClaims } from './_settle-claims.ts'
import { dropTwinKeys } from './_twin-keys.ts'

export interface FixOptions {
  /** Act although a master owning slots does not answer: promote its replica (FORCE), or re-cover its slots empty elsewhere. */
  force?: boolean
  /** Print the plan and stop. */
  dryRun?: boolean
  progress?: (line: string) => void
}

export interface FixResult {
  readonly before: CheckResult
  /** One line per action, in order. */
  readonly plan: readonly string[]
  readonly after: CheckResult
  readonly dryRun: boolean
}

/**
 * Preflight (core's health over every node), the plan, then the repairs, in
 * two rounds. Topology first: with --force a master that does not answer
 * hands over to its replica (CLUSTER FAILOVER FORCE); a replica whose master
 * link is down gets the replication user's credentials back and re-attaches (CLUSTER
 * REPLICATE); of two masters claiming a slot, the older claim moves its keys
 * to the newer (MIGRATE, never REPLACE) and gives the slot up; a node that
 * forgot others meets them again. Then, on fresh readings, the slots: a slot
 * no node claims goes to the one master holding its keys, or with no keys
 * anywhere to the master the other nodes still name as owner (never a
 * random one); what is left (open MIGRATING/IMPORTING slots, keys on several
 * masters) goes to `redis-cli --cluster fix`, which moves keys with MIGRATE
 * and, at a key that exists on both sides (BUSYKEY), replaces it only when
 * both values are equal: its case analysis (migrating without importing,
 * importing without an owner...) is the standard tool's, not copied here.
 * Then it waits for health and checks again. Refuses (TemporaryError, 75)
 * while a master owning slots does not answer, unless `force`: covering its
 * slots elsewhere would lose its keys.
 */
export async function fixCluster(stack: Stack, runtime: Runtime, { force = false, dryRun = false, progress = () => {} }: FixOptions = {}): Promise<FixResult> {
  let readings = await readNodes(stack)
  const before = await checkCluster(stack, readings)
  const deadMasters = silentMasters(readings)
  if (deadMasters.length > 0 && !force) {
    throw new TemporaryError(
      `${deadMasters.map((d) => d.node.name).join(', ')} owns slots and does not answer: fixing now would hand its slots to others and lose its keys`,
      'start it (`pnpm run up` for nodes this toolkit runs) and run `pnpm cluster:fix` again; or `pnpm cluster:fix --force`: its replica is promoted, or without one its slots are covered empty elsewhere',
    )
  }
  // Masters no replica can replace: with --force, redis-cli covers their slots empty.
  const orphans = deadMasters.filter((dead) => !heirOf(readings.filter(answered), dead))
  // Topology first (who is master, who knows whom): the slot repairs below need one cluster to talk to.
  const topology = planTopology(stack, runtime, readings, deadMasters, progress)
  const plan = topology.map((s) => s.line)
  const act = async (steps: readonly Step[]) => {
    for (const step of steps) {
      progress(step.line)
      await step.act()
    }
  }
  if (dryRun) {
    plan.push(...(await planSlots(stack, runtime, readings, orphans, force, progress)).map((s) => s.line))
  } else {
    topology.forEach((s) => progress(`plan: ${s.line}`))
    await act(topology)
    if (topology.length > 0) readings = await settleViews(stack, orphans)
    const slots = await planSlots(stack, runtime, readings, orphans, force, progress)
    slots.forEach((s) => progress(`plan: ${s.line}`))
    plan.push(...slots.map((s) => s.line))
    await act(slots)
  }
  if (plan.length === 0 && !before.healthy) plan.push("nothing fix can act on: see each problem's fix")
  if (dryRun || plan.length === 0 || before.healthy) return { before, plan, after: before, dryRun }
  return { before, plan, after: await settle(stack), dryRun }
}

interface Step {
  readonly line: string
  readonly act: () => Promise<void>
}

/** Promote heirs of dead masters (only with --force: the caller refused otherwise), re-attach replicas, settle double claims, re-meet forgotten nodes. */
function planTopology(stack: Stack, runtime: Runtime, readings: readonly NodeReading[], deadMasters: readonly NodeSilence[], progress: (line: string) => void): Step[] {
  const answers = readings.filter(answered)
  const steps: Step[] = []
  for (const dead of deadMasters) {
    const heir = heirOf(answers, dead)
    if (heir) steps.push({ line: `${heir.node.name}: take over from ${dead.node.name}, which does not answer (CLUSTER FAILOVER FORCE)`, act: () => promote(stack, heir, dead.node, 'force', progress) })
  }
  const problems = assessHealth(stack, readings).details
  for (const replica of brokenReplicas(readings, problems)) {
    steps.push({ line: `${replica.node.name}: re-attach to its master (the replication user's credentials, CLUSTER REPLICATE)`, act: () => reattach(stack, replica) })
  }
  const conflicted = new Set<string>()
  for (const claim of planClaims(answers, problems)) {
    steps.push({
      line: `${claim.loser.node.name}: give slot(s) ${claim.ranges} to ${claim.winner.node.name} (newer claim), moving its keys there first (MIGRATE)`,
      act: async () => {
        const kept = await settleClaims(stack, runtime, claim)
        kept.forEach((line) => progress(line))
        if (kept.length > 0) conflicted.add(claim.loser.id)
      },
    })
  }
  for (const lost of forgetful(answers)) {
    steps.push({
      line: `${lost.answer.node.name}: meet ${lost.missing.map((n) => n.name).join(', ')} again (CLUSTER MEET)`,
      // Meeting the winner of a slot it still claims with keys would make redis delete those keys.
      act: async () => (conflicted.has(lost.answer.id) ? progress(`${lost.answer.node.name}: not met again: it still holds keys of a slot claimed twice`) : meet(stack, runtime, lost.answer, lost.missing)),
    })
  }
  return steps
}

/** Cover slots no node claims, then leave the rest (open slots, keys on several masters, with --force a dead master's slots) to redis-cli. */
async function planSlots(stack: Stack, runtime: Runtime, readings: readonly NodeReading[], orphans: readonly NodeSilence[], force: boolean, progress: (line: string) => void): Promise<Step[]> {
  const answers = readings.filter(answered)
  const cover = await planCover(stack, answers, assessHealth(stack, readings).details)
  const steps: Step[] = cover.assign.map((c) => ({ line: `${c.owner.node.name}: claim slot(s) ${c.ranges} (${c.why})`, act: () => coverSlots(stack, c) }))
  const left = [cover.leftToRedisCli, ...orphans.map((d) => `the slots of ${d.node.name}, covered empty elsewhere (its keys are lost)`)].filter(Boolean).join(', ')
  if (left) steps.push({ line: `redis-cli --cluster fix: ${left} (moves keys with MIGRATE, never overwrites a different value)`, act: () => redisCliFix(stack, runtime, answers, force, progress) })
  return steps
}

/** After topology changes: until every answering node knows the others, no slot is claimed twice and no promoted heir's old master is still seen owning slots (bounded); then fresh readings. */
async function settleViews(stack: Stack, orphans: readonly NodeSilence[]): Promise<NodeReading[]> {
  let readings: NodeReading[] = []
  await waitFor(
    async () => {
      readings = await readNodes(stack)
      const open = assessHealth(stack, readings).details.filter((d) => d.kind === 'claimed-twice' || d.kind === 'unmet' || d.kind === 'replica-link')
      const replaced = silentMasters(readings).filter((dead) => !orphans.some((o) => o.node === dead.node))
      return (open.length === 0 && replaced.length === 0) || summarize([...open.map((d) => d.text), ...replaced.map((d) => `${d.node.name} still seen owning slots`)])
    },
    { timeoutMs: Math.min(stack.timeoutMs, 20_000), what: 'the nodes to agree who is who', hint: 'run `pnpm cluster:check`' },
  ).catch((error) => {
    if (!(error instanceof TemporaryError)) throw error
  })
  return readings
}

/** An answering replica of a master that does not answer. */
function heirOf(answers: readonly NodeAnswer[], dead: NodeSilence): NodeAnswer | undefined {
  return answers.find((a) => a.myself.role === 'replica' && a.entries.some((e) => e.id === a.myself.masterId && isEntryOf(e, dead.node)))
}

/** Masters that own slots (as the answering nodes see them) and do not answer. */
function silentMasters(readings: readonly NodeReading[]): NodeSilence[] {
  const views = readings.filter(answered).flatMap((a) => a.entries)
  return readings.filter((r): r is NodeSilence => !answered(r) && views.some((e) => isEntryOf(e, r.node) && e.role === 'master' && e.slots.length > 0))
}

/** Replicas health calls link-broken (a sync in progress is not) whose master answers (a dead master is --force's business). */
function brokenReplicas(readings: readonly NodeReading[], problems: readonly Problem[]): NodeAnswer[] {
  const answers = readings.filter(answered)
  const broken = new Set(problems.filter((p) => p.kind === 'replica-link').map((p) => p.node))
  return answers.filter((a) => broken.has(a.node.name) && answers.some((m) => m.id === a.myself.masterId))
}

async function reattach(stack: Stack, replica: NodeAnswer): Promise<void> {
  const client = await connectNode(stack, replica.node)
  try {
    // Every node syncs as the replication user (one password for all on a cluster without ACL users); a replica with another can never sync.
    await client.call('CONFIG', 'SET', ...replicationAuth(stack).flat())
    // REPLICATE on the master it already has drops the link and connects again.
    await client.cluster('REPLICATE', replica.myself.masterId!)
  } finally {
    client.disconnect()
  }
}

async function redisCliFix(stack: Stack, runtime: Runtime, answers: readonly NodeAnswer[], force: boolean, progress: (line: string) => void): Promise<void> {
  // It loads the cluster from the entry node's view: take a master that knows every node.
  const entry = [...answers].sort((a, b) => b.entries.length - a.entries.length).find((a) => a.myself.role === 'master' && a.myself.slots.length > 0) ?? answers[0]!
  await dropTwinKeys(stack, answers, progress)
  const args = ['--cluster', 'fix', `${runtime.clusterAddress(entry.node)}:${entry.node.port}`, '--cluster-yes', '--cluster-search-multiple-owners', ...(force ? ['--cluster-fix-with-unreachable-masters'] : [])]
  const out = await runtime.redisCli(stack, args)
  for (const line of out.split('\n')) if (/^(>>>|\[WARNING\]|\[ERR\]|\*\*\*)/.test(line)) progress(`  redis-cli: ${line}`)
}

/** Nodes that do not know every answering node of the stack (CLUSTER FORGET, a reset): their views and claims can never agree. */
function forgetful(answers: readonly NodeAnswer[]): { answer: NodeAnswer; missing: StackNode[] }[] {
  return answers.flatMap((answer) => {
    const missing = answers.filter((other) => !answer.entries.some((e) => e.id === other.id)).map((other) => other.node)
    return missing.length > 0 ? [{ answer, missing }] : []
  })
}

async function meet(stack: Stack, runtime: Runtime, answer: NodeAnswer, missing: readonly StackNode[]): Promise<void> {
  const client = await connectNode(stack, answer.node)
  try {
    for (const peer of missing) await client.call('CLUSTER', 'MEET', runtime.clusterAddress(peer), peer.port, peer.busPort)
  } finally {
    client.disconnect()
  }
}

/** Waits (bounded) for health when every node answers, then checks again: the verdict after. */
async function settle(stack: Stack): Promise<CheckResult> {
  const clients = await connectAll(stack).catch(() => undefined)
  if (clients) {
    try {
      await waitForHealthy(stack, clients, { timeoutMs: Math.min(stack.timeoutMs, 30_000) }).catch((error) => {
        if (!(error instanceof TemporaryError)) throw error
      })
    } finally {
      for (const client of clients) client.disconnect()
    }
  }
  return checkCluster(stack, await readNodes(stack))
}
