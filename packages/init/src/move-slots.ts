import { TemporaryError, UsageError, connectAll, currentRun, describeRedisError, migrateAuth, formatRanges, type NodeAnswer, type NodeClient, type SlotRange, type Stack, type FlagSpec } from '@redis-cluster/core'
import { waitForAgreement, type ClusterMap } from './_cluster-map.ts'

/** One source → target move of some of the source's slots. */
export interface SlotMove {
  readonly from: NodeAnswer
  readonly to: NodeAnswer
  readonly slots: readonly number[]
}

export interface MoveSlotsOptions {
  /** Keys per MIGRATE, and the most keys moved in one round trip (redis-cli's --cluster-pipeline). */
  readonly pipeline: number
  /** One line per step, on stderr. */
  readonly progress?: (line: string) => void
  /** Said even under --json: which slots a Ctrl-C left open. */
  readonly notice?: (line: string) => void
}

export interface MovedSlots {
  readonly from: string
  readonly to: string
  readonly slots: number
  readonly ranges: string
  readonly keys: number
}

export interface MoveSlotsResult {
  readonly moves: readonly MovedSlots[]
  readonly slots: number
  readonly keys: number
  readonly pipeline: number
  readonly elapsedMs: number
  /** Of that, waiting for MIGRATE (the source serializing, the target restoring, both replicating): what bounds a move. */
  readonly migrateMs: number
}

/** A SETSLOT pipeline stays small enough to keep a master responsive; one nodes.conf save covers the whole batch. */
const MAX_SLOTS_PER_BATCH = 256
/** MIGRATE's own I/O timeout towards the target (redis-cli's default). */
const MIGRATE_TIMEOUT_MS = 60_000
const FIX_HINT = 'run `pnpm cluster:fix` (or `redis-cli --cluster fix`): it finishes the open slots with their keys; then run this command again'

/**
 * Moves slots with their keys by Redis' own protocol, the one redis-cli
 * follows: IMPORTING on the target, then MIGRATING on the source, MIGRATE
 * the keys, then SETSLOT NODE on the target first, then the source and every
 * other master. Clients keep writing throughout (ASK sends new keys to the
 * target; MIGRATE is atomic per key on the source), so no acknowledged write
 * is lost. IMPORTING always precedes MIGRATING, so an interruption leaves
 * only states `cluster:fix` (and `redis-cli --cluster fix`) finish.
 *
 * Where redis-cli spends ~9 round trips per slot, this moves a batch of
 * slots (up to `pipeline` keys, at most 256 slots) in ~5 pipelined round
 * trips: one MIGRATE per slot (keys of one slot only) pipelined on the
 * source, so the source is blocked no longer than by redis-cli's own
 * MIGRATE of `pipeline` keys.
 */
export async function moveSlots(stack: Stack, map: ClusterMap, moves: readonly SlotMove[], options: MoveSlotsOptions): Promise<MoveSlotsResult> {
  const started = performance.now()
  const run = currentRun()
  const clients = new Map<string, NodeClient>()
  let inFlight: { move: SlotMove; slots: readonly number[]; phase: string } | undefined
  const describeInFlight = () => inFlight && `slots ${formatSlots(inFlight.slots)} were in flight from ${inFlight.move.from.node.name} to ${inFlight.move.to.node.name} (${inFlight.phase})`
  const onAbort = () => inFlight && options.notice?.(`stopped while ${describeInFlight()}: ${FIX_HINT}`)
  run?.signal.addEventListener('abort', onAbort, { once: true })
  try {
    // a pipelined batch may wait behind a long MIGRATE: the run's deadline bounds it, not the per-command default
    const connected = await connectAll(stack, map.masters.map((m) => m.node), { commandTimeoutMs: stack.timeoutMs })
    map.masters.forEach((m, i) => clients.set(m.id, connected[i]!))
    const done: MovedSlots[] = []
    let migrateMs = 0
    for (const move of moves) {
      const source = clients.get(move.from.id)!
      const counts = (await exec(source, move.from, move.slots.map((s) => ['CLUSTER', 'COUNTKEYSINSLOT', s]))) as number[]
      const total = counts.reduce((a, b) => a + b, 0)
      options.progress?.(`moving ${move.slots.length} slots (${formatSlots(move.slots)}, ~${total} keys) from ${move.from.node.name} to ${move.to.node.name}`)
      let keys = 0
      let moved = 0
      let said = performance.now()
      for (const batch of batches(move.slots, counts, options.pipeline)) {
        inFlight = { move, slots: batch, phase: 'starting' }
        const batchMoved = await moveBatch(map, clients, move, batch, options.pipeline, (phase) => {
          if (run?.signal.aborted) throw run.signal.reason
          inFlight = { move, slots: batch, phase }
        })
        keys += batchMoved.keys
        migrateMs += batchMoved.migrateMs
        inFlight = undefined
        moved += batch.length
        if (performance.now() - said >= 1000 && moved < move.slots.length) {
          options.progress?.(`${move.from.node.name} → ${move.to.node.name}: ${moved}/${move.slots.length} slots, ${keys} keys`)
          said = performance.now()
        }
      }
      options.progress?.(`moved ${move.slots.length} slots, ${keys} keys from ${move.from.node.name} to ${move.to.node.name}`)
      done.push({ from: move.from.node.name, to: move.to.node.name, slots: move.slots.length, ranges: formatSlots(move.slots), keys })
    }
    const sum = (k: 'slots' | 'keys') => done.reduce((n, m) => n + m[k], 0)
    return { moves: done, slots: sum('slots'), keys: sum('keys'), pipeline: options.pipeline, elapsedMs: Math.round(performance.now() - started), migrateMs: Math.round(migrateMs) }
  } catch (error) {
    if (!inFlight || run?.signal.aborted) throw error
    const cause = error instanceof Error ? error.message : String(error)
    throw new TemporaryError(`moving slots stopped: ${cause}; ${describeInFlight()}`, FIX_HINT)
  } finally {
    run?.signal.removeEventListener('abort', onAbort)
    for (const client of clients.values()) client.disconnect()
  }
}

/** One batch, each step one pipeline; returns how many keys moved. `step` names the phase (and stops a stopped run). */
async function moveBatch(map: ClusterMap, clients: Map<string, NodeClient>, { from, to }: SlotMove, slots: readonly number[], pipeline: number, step: (phase: string) => void): Promise<{ keys: number; migrateMs: number }> {
  const [source, target] = [clients.get(from.id)!, clients.get(to.id)!]
  step('IMPORTING being set on the target')
  await exec(target, to, slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'IMPORTING', from.id]))
  step('IMPORTING on the target, MIGRATING being set on the source')
  const replies = await exec(source, from, slots.flatMap((s) => [['CLUSTER', 'SETSLOT', s, 'MIGRATING', to.id], ['CLUSTER', 'GETKEYSINSLOT', s, pipeline]]), true)
  let pending = slots.map((slot, i) => ({ slot, keys: replies[2 * i + 1] as Buffer[] })).filter((p) => p.keys.length > 0)
  // the source knows the target by the address the nodes announce to each other (172.19.0.x in compose)
  const address = from.entries.find((e) => e.id === to.id) ?? to.myself
  let moved = 0
  let migrateMs = 0
  while (pending.length > 0) {
    step('MIGRATING on the source, IMPORTING on the target, keys moving')
    const migrate = pending.map(({ keys }) => ['MIGRATE', address.host, address.port, '', 0, MIGRATE_TIMEOUT_MS, ...auth(source), 'KEYS', ...keys])
    const at = performance.now()
    await exec(source, from, migrate)
    migrateMs += performance.now() - at
    moved += pending.reduce((n, p) => n + p.keys.length, 0)
    // a slot that filled the whole page may hold more keys (no new key lands on the source meanwhile: ASK sends it to the target)
    const full = pending.filter((p) => p.keys.length >= pipeline)
    const again = full.length ? ((await exec(source, from, full.map((p) => ['CLUSTER', 'GETKEYSINSLOT', p.slot, pipeline]), true)) as Buffer[][]) : []
    pending = full.map((p, i) => ({ slot: p.slot, keys: again[i]! })).filter((p) => p.keys.length > 0)
  }
  step('keys moved, owner being set on the target')
  await exec(target, to, slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'NODE', to.id]))
  step('owned by the target, owner being set on the source')
  const assign = slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'NODE', to.id])
  const others = map.masters.filter((m) => m.id !== from.id && m.id !== to.id)
  // The source must learn it, unless it already did: a master that lost its last slots to a newer epoch turns itself
  // into the target's replica and refuses SETSLOT (redis-cli ignores this too). The other masters would learn it by
  // gossip as well, so a failure there does not stop the move.
  const sourceAssigned = exec(source, from, assign).catch((error: Error) => {
    if (!/only with masters/.test(error.message)) throw error
  })
  await Promise.all([sourceAssigned, ...others.map((m) => exec(clients.get(m.id)!, m, assign).catch(() => undefined))])
  return { keys: moved, migrateMs }
}


/** MIGRATE authenticates to the target as the source's client did (same user, same password). */
const auth = ({ options }: NodeClient) => (options.password ? migrateAuth({ user: options.username ?? 'default', password: options.password }) : [])

/** Runs commands in one pipeline (one round trip); the first failure is thrown, typed and naming the node. */
async function exec(client: NodeClient, node: NodeAnswer, commands: readonly (readonly (string | number | Buffer)[])[], buffers = false): Promise<unknown[]> {
  const pipeline = client.pipeline()
  for (const [name, ...args] of commands) {
    if (buffers) pipeline.callBuffer(name as string, ...args)
    else pipeline.call(name as string, ...args)
  }
  const results = (await pipeline.exec()) ?? []
  const failed = results.findIndex(([error]) => error)
  if (failed < 0) return results.map(([, value]) => value)
  const [name, sub] = commands[failed]!
  throw describeRedisError(node.node, results[failed]![0], name === 'CLUSTER' ? `CLUSTER ${sub}` : `${name}`)
}

/** Consecutive slots grouped so a batch holds about `pipeline` keys (a fuller slot goes alone). */
function batches(slots: readonly number[], counts: readonly number[], pipeline: number): number[][] {
  const out: number[][] = []
  let batch: number[] = []
  let keys = 0
  slots.forEach((slot, i) => {
    if (batch.length > 0 && (keys + counts[i]! > pipeline || batch.length >= MAX_SLOTS_PER_BATCH)) {
      out.push(batch)
      ;[batch, keys] = [[], 0]
    }
    batch.push(slot)
    keys += counts[i]!
  })
  if (batch.length > 0) out.push(batch)
  return out
}

/** `0-99,200`: slot numbers as ranges. */
export function formatSlots(slots: readonly number[]): string {
  const ranges: SlotRange[] = []
  for (const slot of [...slots].sort((a, b) => a - b)) {
    const last = ranges.at(-1)
    if (last && last.end === slot - 1) ranges[ranges.length - 1] = { start: last.start, end: slot }
    else ranges.push({ start: slot, end: slot })
  }
  return formatRanges(ranges)
}

/** redis-cli's default is 10 keys per MIGRATE; 1000 is what people pass it to go fast, and still one short MIGRATE for small keys. */
export const DEFAULT_PIPELINE = 1000

/** A whole number flag within [min, max]; anything else is a UsageError (exit 2). */
export function parseWhole(flag: string, value: string | undefined, { min, max }: { min: number; max: number }): number | undefined {
  if (value === undefined) return undefined
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag} '${value}' is not a whole number from ${min} to ${max}`, `e.g. --${flag} ${Math.min(max, Math.max(min, 100))}`)
  }
  return Number(value)
}

/** What a reshard or rebalance did, or (dry run) would do. */
export interface SlotPlanResult extends Omit<MoveSlotsResult, 'moves'> {
  readonly dryRun: boolean
  readonly moves: readonly (Omit<MovedSlots, 'keys'> & { readonly keys?: number })[]
}

/** The flags reshard and rebalance share: how keys move, and the guards around it. */
export const SLOT_MOVE_FLAGS = {
  pipeline: { type: 'string', description: 'keys per MIGRATE and per round trip (default 1000; redis-cli: 10); lower it for big values' },
  'dry-run': { type: 'boolean', description: 'print the plan, change nothing' },
  force: { type: 'boolean', description: 'move even when the cluster is not healthy (every node must still answer)' },
} as const satisfies Record<string, FlagSpec>

/** Runs the moves, or only describes them with --dry-run. */
export async function runPlan(stack: Stack, map: ClusterMap, moves: readonly SlotMove[], options: MoveSlotsOptions & { readonly dryRun?: boolean }): Promise<SlotPlanResult> {
  if (!options.dryRun) {
    const result = await moveSlots(stack, map, moves, options)
    await waitForAgreement(stack)
    return { dryRun: false, ...result }
  }
  const planned = moves.map((m) => ({ from: m.from.node.name, to: m.to.node.name, slots: m.slots.length, ranges: formatSlots(m.slots) }))
  for (const m of planned) options.progress?.(`would move ${m.slots} slots (${m.ranges}) from ${m.from} to ${m.to}`)
  return { dryRun: true, moves: planned, slots: planned.reduce((n, m) => n + m.slots, 0), keys: 0, pipeline: options.pipeline, elapsedMs: 0, migrateMs: 0 }
}

/** The human summary of a reshard or rebalance. */
export function renderSlotPlan(result: SlotPlanResult): string {
  if (result.moves.length === 0) return 'nothing to move: the slots are already balanced'
  const lines = result.moves.map((m) => `${m.from} -> ${m.to}: ${m.slots} slots (${m.ranges})${m.keys === undefined ? '' : `, ${m.keys} keys`}`)
  const total = result.dryRun ? `dry run: would move ${result.slots} slots; nothing changed` : `moved ${result.slots} slots and ${result.keys} keys in ${(result.elapsedMs / 1000).toFixed(2)}s (pipeline ${result.pipeline})`
  return [...lines, total].join('\n')
}
