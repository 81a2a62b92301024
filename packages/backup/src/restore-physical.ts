import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { localRuntime, selectRuntime } from '@redis-cluster/compose'
import {
  CheckFailedError, ConfigError, answered, describeFsError, connectAll, connectNode, formatRanges, readNodes, waitForHealthy, type NodeSilence, type Stack, type StackNode,
} from '@redis-cluster/core'
import { readManifest } from './manifest.ts'
import { clearData, dropAside, placeRdb, type AofNames } from './restore-files.ts'
import { verifyBackup } from './verify.ts'

export interface PhysicalShard {
  readonly index: number
  readonly file: string
  readonly slots: string
  readonly keys: number
  /** The node that owns the shard's slots now: after a failover, the other member of the pair than at backup time. */
  readonly master: StackNode
}

export interface PhysicalPlan {
  readonly dir: string
  readonly backup: string
  readonly shards: readonly PhysicalShard[]
  /** Every node that is no shard's master: its data is set aside and it full-resyncs. */
  readonly cleared: readonly StackNode[]
  readonly aof: AofNames
  /** Names what this restore sets aside (`appendonlydir.before-restore-<stamp>`); kept across re-runs of one restore. */
  readonly stamp: string
  /** A restore that was interrupted and is now being finished. */
  readonly resumed: boolean
}

export interface PhysicalRestoreResult {
  readonly dir: string
  readonly backup: string
  readonly resumed: boolean
  readonly durationMs: number
  readonly shards: readonly { index: number; master: string; slots: string; keys: number; expected: number }[]
}

const USE_LOGICAL = 'use `pnpm restore --logical` (copies every key to its current owner)'
/** The plan of a restore that began, in the stack's data dir: what lets a re-run finish it after the nodes were stopped. */
const markerFile = (stack: Stack) => join(stack.dataDir, 'restore-physical.json')
interface Marker { backup: string; stamp: string; masters: string[]; aof: AofNames }

/**
 * A physical restore's plan, or why one is not possible here (the runtime
 * cannot place files, the slot layout differs): then `pnpm restore` takes the
 * logical one, and `--physical` throws `reason`. A problem that stops any
 * restore (a backup that fails verification, a node down, another backup's
 * interrupted restore) is thrown, not returned.
 */
export type PhysicalAssessment = { readonly possible: true; readonly plan: PhysicalPlan } | { readonly possible: false; readonly reason: ConfigError | CheckFailedError }

/**
 * What a physical restore of `dir` would do, or why it cannot: only on the
 * local runtime (it places files in the nodes' dirs; never where the runtime
 * does not own the nodes, whose files are on other hosts); only a backup that
 * verifies; only onto a cluster whose current masters own exactly the
 * backup's shards (matched by slots, not names); every node up unless
 * `force`. A restore that was interrupted is resumed from its marker.
 * Verification (the slow part) runs last, once the restore is possible.
 */
export async function assessPhysicalRestore(stack: Stack, dir: string, { force = false } = {}): Promise<PhysicalAssessment> {
  // The runtime in use, not RC_RUNTIME: `auto` (the default) may well be local.
  const runtime = await selectRuntime(stack)
  if (!runtime.ownsNodes) return { possible: false, reason: new ConfigError(`a physical restore places files in the nodes' data dirs, which this toolkit cannot reach on the ${runtime.name} runtime (it did not start the nodes)`, USE_LOGICAL) }
  if (runtime.name !== 'local') return { possible: false, reason: new ConfigError(`a physical restore places files in the nodes' data dirs, which the ${runtime.name} runtime cannot do yet`, USE_LOGICAL) }
  const manifest = await readManifest(dir)
  const byName = (name: string) => stack.nodes.find((n) => n.name === name)
  const marker = await readMarker(stack)
  if (marker && marker.backup !== dir) {
    throw new CheckFailedError(`a physical restore of ${marker.backup} was interrupted; the cluster holds part of it`, `finish it first: pnpm restore ${marker.backup} --yes`)
  }
  const planWith = async (masters: readonly StackNode[], aof: AofNames, stamp: string, resumed: boolean): Promise<PhysicalAssessment> => {
    const verified = await verifyBackup(dir)
    if (!verified.good) throw new CheckFailedError(`${dir} fails verification: ${verified.problems.join('; ')}`, 'nothing was changed; restore another backup (`pnpm backup:list`)')
    const shards = manifest.shards.map((s, i) => ({ index: s.index, file: s.file, slots: formatRanges(s.slots), keys: s.keys, master: masters[i]! }))
    return { possible: true, plan: { dir, backup: manifest.name, shards, cleared: stack.nodes.filter((n) => !masters.includes(n)), aof, stamp, resumed } }
  }
  if (marker) {
    const masters = marker.masters.map(byName)
    if (masters.some((m) => !m) || masters.length !== manifest.shards.length) throw new ConfigError(`${markerFile(stack)} names nodes this stack does not have`, 'restore the .env it was written with')
    return planWith(masters as StackNode[], marker.aof, marker.stamp, true)
  }
  const readings = await readNodes(stack)
  const down = readings.filter((r): r is NodeSilence => !answered(r))
  if (down.length > 0 && !force) {
    throw new CheckFailedError(
      `${down.map((r) => r.node.name).join(', ')} ${down.length === 1 ? 'is' : 'are'} down: ${down[0]!.error.message}`,
      'bring it up (`pnpm run up`) and restore then; or pass --force: the restore stops every node anyway and a down node restarts with its data set aside, but why it was down (disk, config) is not checked',
    )
  }
  const owners = readings.filter(answered).filter((a) => a.myself.role === 'master' && a.myself.slots.length > 0)
  const masters = manifest.shards.map((s) => owners.find((a) => formatRanges(a.myself.slots) === formatRanges(s.slots))?.node)
  const missing = manifest.shards.filter((_, i) => !masters[i]).map((s) => formatRanges(s.slots))
  if (missing.length > 0 || owners.length !== manifest.shards.length) {
    const now = owners.map((a) => `${a.node.name} ${formatRanges(a.myself.slots)}`).join(', ')
    return { possible: false, reason: new CheckFailedError(`the cluster's slot layout differs from the backup's (no master owns exactly ${missing.join(' / ') || 'the same shards'}; now: ${now})`, USE_LOGICAL) }
  }
  const client = await connectNode(stack, masters[0]!)
  try {
    const get = async (name: string) => ((await client.config('GET', name)) as string[])[1]!
    const aof = { dir: await get('appenddirname'), file: await get('appendfilename') }
    return await planWith(masters as StackNode[], aof, new Date().toISOString().replace(/[:.]/g, '-'), false)
  } finally {
    client.disconnect()
  }
}

/**
 * Replaces the cluster's data with the plan's backup. Steps, each safe to
 * redo, so an interrupted run is finished by running it again (the marker
 * keeps the plan once the first node may have stopped): stop every node
 * cleanly; on each shard's current master, set its AOF dir and dump.rdb
 * aside and place the RDB (placeRdb); set every other node's data aside so
 * it full-resyncs; start; wait for full health; compare keys per shard with
 * the manifest; only then delete what was set aside, and the marker.
 */
export async function restorePhysical(stack: Stack, plan: PhysicalPlan, { progress }: { progress?: (line: string) => void } = {}): Promise<PhysicalRestoreResult> {
  const started = Date.now()
  const marker: Marker = { backup: plan.dir, stamp: plan.stamp, masters: plan.shards.map((s) => s.master.name), aof: plan.aof }
  try {
    await writeFile(`${markerFile(stack)}.tmp`, `${JSON.stringify(marker, null, 2)}\n`)
    await rename(`${markerFile(stack)}.tmp`, markerFile(stack))
  } catch (error) {
    throw describeFsError(error)
  }
  progress?.('stopping every node (clean shutdown)')
  await localRuntime.stop(stack, { purge: false })
  for (const shard of plan.shards) {
    progress?.(`shard ${shard.index}: ${shard.file} -> ${shard.master.name}`)
    await placeRdb(join(plan.dir, shard.file), shard.master.dataDir, plan.aof, plan.stamp)
  }
  for (const node of plan.cleared) await clearData(node.dataDir, plan.aof, plan.stamp)
  await localRuntime.start(stack, { progress })
  progress?.('waiting for a healthy cluster (replicas full-resync)')
  const clients = await connectAll(stack)
  let shards: PhysicalRestoreResult['shards']
  try {
    await waitForHealthy(stack, clients)
    shards = await Promise.all(plan.shards.map(async (s) => ({
      index: s.index, master: s.master.name, slots: s.slots, expected: s.keys, keys: await clients[stack.nodes.indexOf(s.master)]!.dbsize(),
    })))
  } finally {
    clients.forEach((c) => c.disconnect())
  }
  const wrong = shards.filter((s) => s.keys !== s.expected)
  if (wrong.length > 0) {
    throw new CheckFailedError(
      `restored, but ${wrong.map((s) => `shard ${s.index} (${s.master}) has ${s.keys} keys, the backup ${s.expected}`).join('; ')}`,
      `keys whose TTL passed since the backup are dropped on load; the data from before is kept as *.before-restore-${plan.stamp} in each node's dir`,
    )
  }
  for (const node of stack.nodes) await dropAside(node.dataDir, plan.stamp)
  await rm(markerFile(stack), { force: true })
  return { dir: plan.dir, backup: plan.backup, resumed: plan.resumed, durationMs: Date.now() - started, shards }
}

async function readMarker(stack: Stack): Promise<Marker | undefined> {
  try {
    return JSON.parse(await readFile(markerFile(stack), 'utf8')) as Marker
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`${markerFile(stack)} is unreadable: ${(error as Error).message}`, 'restore its content or delete it (then the cluster may hold part of a restore)')
  }
}

export function renderPhysicalPlan(plan: PhysicalPlan): string {
  return [
    `${plan.resumed ? 'finish the interrupted physical restore' : 'physical restore'} of ${plan.backup} (${plan.dir}):`,
    ...plan.shards.map((s) => `  shard ${s.index} (slots ${s.slots}, ${s.keys} keys): ${s.file} -> ${s.master.name}`),
    `  every node is stopped; the current data on every node is replaced (set aside until the restore succeeded);`,
    `  ${plan.cleared.map((n) => n.name).join(', ')} start empty and full-resync from their masters; every nodes.conf is kept`,
  ].join('\n')
}

export function renderPhysicalRestore(result: PhysicalRestoreResult): string {
  const lines = result.shards.map((s) => `  shard ${s.index} ${s.master} (slots ${s.slots}): ${s.keys} keys (backup: ${s.expected})`)
  return [`restored ${result.backup}${result.resumed ? ' (finished an interrupted restore)' : ''} in ${(result.durationMs / 1000).toFixed(1)} s, cluster healthy:`, ...lines].join('\n')
}
