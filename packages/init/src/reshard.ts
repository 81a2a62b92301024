import { UsageError, type Stack } from '@redis-cluster/core'
import { findMaster, readClusterMap, slotsOf } from './_cluster-map.ts'
import { DEFAULT_PIPELINE, parseWhole, runPlan, type SlotPlanResult } from './move-slots.ts'

export interface ReshardOptions {
  /** Source and target master: name, host:port, index, port or node id, as typed. */
  readonly from: string | undefined
  readonly to: string | undefined
  /** How many slots, as typed. */
  readonly slots: string | undefined
  readonly pipeline?: string
  readonly dryRun?: boolean
  readonly force?: boolean
  readonly progress?: (line: string) => void
  readonly notice?: (line: string) => void
}

/**
 * `cluster:reshard --from N --to M --slots K`: moves K of N's slots (its
 * highest, so both keep contiguous ranges) with their keys to M. Refuses a
 * cluster that is not healthy, a replica, the same node twice, or more slots
 * than N owns; all before anything changes.
 */
export async function reshard(stack: Stack, options: ReshardOptions): Promise<SlotPlanResult> {
  for (const flag of ['from', 'to', 'slots'] as const) {
    if (options[flag] === undefined) throw new UsageError(`--${flag} is required`, `e.g. pnpm cluster:reshard --from ${stack.nodes[0]!.name} --to ${stack.nodes[1]!.name} --slots 100`)
  }
  const count = parseWhole('slots', options.slots, { min: 1, max: 16384 })!
  const pipeline = parseWhole('pipeline', options.pipeline, { min: 1, max: 100_000 }) ?? DEFAULT_PIPELINE
  const map = await readClusterMap(stack, { force: options.force })
  const from = findMaster(stack, map, options.from!, '--from')
  const to = findMaster(stack, map, options.to!, '--to')
  if (from === to) throw new UsageError(`--from and --to both name ${from.node.name}`, 'name two different masters')
  const owned = slotsOf(from)
  if (count > owned.length) throw new UsageError(`--slots ${count}: ${from.node.name} owns only ${owned.length} slots`, `ask for at most ${owned.length}`)
  return runPlan(stack, map, [{ from, to, slots: owned.slice(owned.length - count) }], { ...options, pipeline })
}
