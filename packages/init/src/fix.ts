import {
  answered,
  assessHealth,
  connectAll,
  connectNode,
  waitForHealthy,
  TemporaryError,
  type NodeAnswer,
  type NodeReading,
  type NodeSilence,
  type Stack,
  readNodes,
} from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { checkCluster, type CheckResult } from './check.ts'
import { promote } from './failover.ts'
import { coverSlots, planCover } from './_cover-slots.ts'

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
 * Preflight (core's health over every node), the plan, then the repairs:
 * 1. with --force, a master that does not answer hands over to its replica (CLUSTER FAILOVER FORCE);
 * 2. a replica whose master link is down gets the stack's masterauth back and re-attaches (CLUSTER REPLICATE);
 * 3. slots no node claims go to the one master holding their keys, or with no keys anywhere to the
 *    master the other nodes still name as owner (ADDSLOTS + BUMPEPOCH): never a random master;
 * 4. what is left (open MIGRATING/IMPORTING slots, slots claimed twice, slots with keys on several
 *    masters) goes to `redis-cli --cluster fix`: it moves keys with MIGRATE and stops at a key that
 *    exists on both sides with another value (BUSYKEY) instead of overwriting it, so no key is lost;
 *    reimplementing its case analysis (migrating without importing, importing without owner...) here
 *    would be a second copy of the standard tool's logic.
 * Then it waits for health and checks again. Refuses (TemporaryError, 75) while a master owning
 * slots does not answer, unless `force`: covering its slots elsewhere would lose its keys.
 */
export async function fixCluster(stack: Stack, runtime: Runtime, { force = false, dryRun = false, progress = () => {} }: FixOptions = {}): Promise<FixResult> {
  const readings = await readNodes(stack)
  const before = await checkCluster(stack, readings)
  const answers = readings.filter(answered)
  const deadMasters = silentMasters(readings)
  if (deadMasters.length > 0 && !force) {
    throw new TemporaryError(
      `${deadMasters.map((d) => d.node.name).join(', ')} owns slots and does not answer: fixing now would hand its slots to others and lose its keys`,
      'start it (`pnpm run up`) and run `pnpm cluster:fix` again; or `pnpm cluster:fix --force`: its replica is promoted, or without one its slots are covered empty elsewhere',
    )
  }
  const steps: { line: string; act: () => Promise<void> }[] = []
  const orphans: string[] = []
  for (const dead of deadMasters) {
    const heir = answers.find((a) => a.myself.role === 'replica' && a.entries.some((e) => e.id === a.myself.masterId && e.port === dead.node.port))
    if (heir) steps.push({ line: `${heir.node.name}: take over from ${dead.node.name}, which does not answer (CLUSTER FAILOVER FORCE)`, act: () => promote(stack, heir, dead.node, 'force', progress) })
    else orphans.push(`the slots of ${dead.node.name}, covered empty elsewhere (its keys are lost)`)
  }
  for (const replica of brokenReplicas(readings)) {
    steps.push({ line: `${replica.node.name}: re-attach to its master (masterauth from the stack, CLUSTER REPLICATE)`, act: () => reattach(stack, replica) })
  }
  const cover = await planCover(stack, answers, assessHealth(stack, readings).details)
  for (const c of cover.assign) steps.push({ line: `${c.owner.node.name}: claim slot(s) ${c.ranges} (${c.why})`, act: () => coverSlots(stack, c) })
  const left = [cover.leftToRedisCli, ...orphans].filter(Boolean).join(', ')
  if (left) {
    steps.push({ line: `redis-cli --cluster fix: ${left} (moves keys with MIGRATE, never overwrites)`, act: () => redisCliFix(stack, runtime, answers, force, progress) })
  }
  const plan = steps.map((s) => s.line)
  if (plan.length === 0 && !before.healthy) plan.push('nothing fix can act on: see each problem\'s fix')
  plan.forEach((line) => progress(`plan: ${line}`))
  if (dryRun || steps.length === 0) return { before, plan, after: before, dryRun }
  for (const step of steps) {
    progress(step.line)
    await step.act()
  }
  return { before, plan, after: await settle(stack), dryRun }
}

/** Masters that own slots (as the answering nodes see them) and do not answer. */
function silentMasters(readings: readonly NodeReading[]): NodeSilence[] {
  const views = readings.filter(answered).flatMap((a) => a.entries)
  return readings.filter((r): r is NodeSilence => !answered(r) && views.some((e) => e.port === r.node.port && e.role === 'master' && e.slots.length > 0))
}

/** Replicas whose master link is down while that master answers (a dead master is step 1's business). */
function brokenReplicas(readings: readonly NodeReading[]): NodeAnswer[] {
  const answers = readings.filter(answered)
  return answers.filter((a) => a.myself.role === 'replica' && a.info.master_link_status !== 'up' && answers.some((m) => m.id === a.myself.masterId))
}

async function reattach(stack: Stack, replica: NodeAnswer): Promise<void> {
  const client = await connectNode(stack, replica.node)
  try {
    // Every node's config says masterauth = the stack's password; a replica with another one can never sync.
    await client.config('SET', 'masterauth', stack.password)
    // REPLICATE on the master it already has drops the link and connects again.
    await client.cluster('REPLICATE', replica.myself.masterId!)
  } finally {
    client.disconnect()
  }
}

async function redisCliFix(stack: Stack, runtime: Runtime, answers: readonly NodeAnswer[], force: boolean, progress: (line: string) => void): Promise<void> {
  const entry = answers.find((a) => a.myself.role === 'master' && a.myself.slots.length > 0) ?? answers[0]!
  const args = ['--cluster', 'fix', `${runtime.clusterAddress(entry.node)}:${entry.node.port}`, '--cluster-yes', '--cluster-search-multiple-owners', ...(force ? ['--cluster-fix-with-unreachable-masters'] : [])]
  const out = await runtime.redisCli(stack, args)
  for (const line of out.split('\n')) if (/^(>>>|\[WARNING\]|\[ERR\]|\*\*\*)/.test(line)) progress(`  redis-cli: ${line}`)
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
