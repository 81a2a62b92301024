import { SLOT_COUNT, UsageError, type NodeAnswer, type Stack } from '@redis-cluster/core'
import { findMaster, readClusterMap, slotsOf, type ClusterMap } from './_cluster-map.ts'
import { DEFAULT_PIPELINE, parseWhole, runPlan, type SlotMove, type SlotPlanResult } from './move-slots.ts'

export interface RebalanceOptions {
  /** `redis-node-0=2,redis-node-3=0`, as typed: masters not named weigh 1; 0 empties a master. */
  readonly weights?: string
  /** Percent a master may be off its share before anything moves (redis-cli's default: 2). */
  readonly threshold?: string
  readonly pipeline?: string
  readonly dryRun?: boolean
  readonly force?: boolean
  readonly progress?: (line: string) => void
  readonly notice?: (line: string) => void
}

/**
 * `cluster:rebalance`: gives every master (an empty one added by
 * `cluster:add-node` included) its weighted share of the 16384 slots,
 * moving slots with their keys from the masters above their share to those
 * below it, fewest moves first. Nothing moves while every master is within
 * the threshold of its share.
 */
export async function rebalance(stack: Stack, options: RebalanceOptions = {}): Promise<SlotPlanResult> {
  const threshold = parseWhole('threshold', options.threshold, { min: 0, max: 100 }) ?? 2
  const pipeline = parseWhole('pipeline', options.pipeline, { min: 1, max: 100_000 }) ?? DEFAULT_PIPELINE
  const map = await readClusterMap(stack, { force: options.force })
  const weights = parseWeights(stack, map, options.weights)
  return runPlan(stack, map, planRebalance(map.masters, weights, threshold), { ...options, pipeline })
}

function parseWeights(stack: Stack, map: ClusterMap, text: string | undefined): Map<NodeAnswer, number> {
  const weights = new Map(map.masters.map((m) => [m, 1]))
  for (const item of text ? text.split(',') : []) {
    const [name = '', value = ''] = item.split('=')
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new UsageError(`--weights: '${item}' is not NODE=WEIGHT with a number of at least 0`, 'e.g. --weights redis-node-0=2,redis-node-1=1')
    weights.set(findMaster(stack, map, name, '--weights'), Number(value))
  }
  if ([...weights.values()].every((w) => w === 0)) throw new UsageError('--weights: every master weighs 0', 'give at least one master a weight above 0')
  return weights
}

/** Each master's share by largest remainder (the shares add up to 16384), then greedy moves from the fullest to the emptiest. Pure. */
export function planRebalance(masters: readonly NodeAnswer[], weights: ReadonlyMap<NodeAnswer, number>, threshold: number): SlotMove[] {
  const total = masters.reduce((n, m) => n + weights.get(m)!, 0)
  const exact = masters.map((m) => (SLOT_COUNT * weights.get(m)!) / total)
  const share = exact.map(Math.floor)
  const order = exact.map((_, i) => i).sort((a, b) => exact[b]! - share[b]! - (exact[a]! - share[a]!))
  for (let k = 0; k < SLOT_COUNT - share.reduce((a, b) => a + b, 0); k++) share[order[k]!]!++
  const nodes = masters.map((m, i) => ({ m, free: slotsOf(m), balance: slotsOf(m).length - share[i]! }))
  const off = (n: (typeof nodes)[number], i: number) => (share[i] === 0 ? n.balance > 0 : (Math.abs(n.balance) * 100) / share[i]! > threshold)
  if (!nodes.some(off)) return []
  const moves: SlotMove[] = []
  const sinks = nodes.filter((n) => n.balance < 0).sort((a, b) => a.balance - b.balance)
  const sources = nodes.filter((n) => n.balance > 0).sort((a, b) => b.balance - a.balance)
  for (const sink of sinks) {
    for (const source of sources) {
      const count = Math.min(-sink.balance, source.balance)
      if (count <= 0) continue
      // the source's highest slots, so what it keeps stays contiguous
      moves.push({ from: source.m, to: sink.m, slots: source.free.splice(source.free.length - count, count) })
      source.balance -= count
      sink.balance += count
    }
  }
  return moves
}
