import { formatRanges } from './layout.ts'
import type { NodeAnswer } from './health.ts'
import type { Stack } from './stack.ts'

/**
 * How the layout differs from the spec's (master i owns the i-th range, node
 * i+m replicates it). A swapped pair (its replica took over its master's
 * range) is put back by `pnpm cluster:failover --restore-layout`.
 */
export function layoutDrift(stack: Stack, answers: readonly NodeAnswer[]): { drift: string[]; restore: string[] } {
  const drift: string[] = []
  const swaps = layoutSwaps(stack, answers)
  for (const { master, replica, range } of layoutPairs(stack, answers)) {
    const swapped = swaps.some((s) => s.master.node === master.node)
    if (swapped) drift.push(`${replica.node.name} is master of ${range} in place of ${master.node.name}`)
    else if (!holds(master, replica, range)) drift.push(`${master.node.name}/${replica.node.name} do not hold ${range} as the spec's master/replica pair`)
  }
  return { drift, restore: swaps.length > 0 ? ['pnpm cluster:failover --restore-layout'] : [] }
}

export interface LayoutPair {
  /** The spec's master and replica of one range, as they answered. */
  readonly master: NodeAnswer
  readonly replica: NodeAnswer
  readonly range: string
}

function layoutPairs(stack: Stack, answers: readonly NodeAnswer[]): LayoutPair[] {
  const byIndex = new Map(answers.map((a) => [a.node.index, a]))
  return stack.nodes.flatMap((node) => {
    const replica = stack.nodes.find((n) => n.masterIndex === node.index)
    const [m, r] = [byIndex.get(node.index), replica && byIndex.get(replica.index)]
    return node.role === 'master' && node.slots && m && r ? [{ master: m, replica: r, range: formatRanges([node.slots]) }] : []
  })
}

const holds = (master: NodeAnswer, replica: NodeAnswer, range: string) => formatRanges(master.myself.slots) === range && replica.myself.masterId === master.id

/** The spec's pairs whose replica is master of the pair's range and the spec's master its replica: one CLUSTER FAILOVER on the spec master restores each. */
export function layoutSwaps(stack: Stack, answers: readonly NodeAnswer[]): LayoutPair[] {
  return layoutPairs(stack, answers).filter(({ master, replica, range }) => holds(replica, master, range))
}
