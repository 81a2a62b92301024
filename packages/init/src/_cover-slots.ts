import { connectNode, formatRanges, toRanges, type NodeAnswer, type Problem, type Stack } from '@redis-cluster/core'

export interface CoverAssignment {
  readonly owner: NodeAnswer
  readonly slots: readonly number[]
  readonly ranges: string
  readonly why: string
}

/**
 * Who should claim each slot no node claims: the one master holding keys in
 * it; with no keys anywhere, the master the other nodes still name as its
 * owner (CLUSTER DELSLOTS leaves their views so), else the master of the
 * spec's pair for it (a stack read from the cluster has no spec). Slots with
 * keys on several masters need keys moved: they are left to redis-cli, as
 * are open slots, slots claimed twice and slots nothing points to an owner for.
 */
export async function planCover(stack: Stack, answers: readonly NodeAnswer[], problems: readonly Problem[]): Promise<{ assign: CoverAssignment[]; leftToRedisCli: string }> {
  const uncovered = problems.filter((p) => p.kind === 'uncovered').flatMap((p) => p.slots ?? [])
  const masters = answers.filter((a) => a.myself.role === 'master')
  const counts = uncovered.length === 0 ? [] : await Promise.all(masters.map((m) => countKeys(stack, m, uncovered)))
  const chosen = new Map<NodeAnswer, { slots: number[]; why: string }>()
  const several: number[] = []
  const ownerless: number[] = []
  uncovered.forEach((slot, i) => {
    const holders = masters.filter((_, m) => counts[m]![i]! > 0)
    if (holders.length > 1) return void several.push(slot)
    const [owner, why] = holders.length === 1 ? [holders[0]!, 'its keys are there'] : (namedOwner(answers, masters, slot) ?? specOwner(stack, masters, slot))
    if (!owner) return void ownerless.push(slot)
    const entry = chosen.get(owner) ?? { slots: [], why }
    chosen.set(owner, { slots: [...entry.slots, slot], why: entry.why === why ? why : `${entry.why}, or ${why}` })
  })
  const left = [
    problems.some((p) => p.kind === 'open-slot') && 'open (migrating/importing) slots',
    problems.some((p) => p.kind === 'claimed-twice') && 'slots claimed twice',
    several.length > 0 && `slots ${formatRanges(toRanges(several))} with keys on several masters`,
    ownerless.length > 0 && `slots ${formatRanges(toRanges(ownerless))} with no keys and no owner to give back to`,
  ].filter(Boolean)
  return { assign: [...chosen].map(([owner, c]) => ({ owner, slots: c.slots, ranges: formatRanges(toRanges(c.slots)), why: c.why })), leftToRedisCli: left.join(', ') }
}

/** The owner claims the slots (SETSLOT NODE itself works whatever its view said), then takes a new config epoch so its claim wins in every view. */
export async function coverSlots(stack: Stack, { owner, slots }: CoverAssignment): Promise<void> {
  const client = await connectNode(stack, owner.node)
  try {
    await Promise.all(slots.map((slot) => client.cluster('SETSLOT', slot, 'NODE', owner.id)))
    await client.cluster('BUMPEPOCH')
  } finally {
    client.disconnect()
  }
}

async function countKeys(stack: Stack, master: NodeAnswer, slots: readonly number[]): Promise<number[]> {
  const client = await connectNode(stack, master.node)
  try {
    return await Promise.all(slots.map((slot) => client.cluster('COUNTKEYSINSLOT', slot) as Promise<number>))
  } finally {
    client.disconnect()
  }
}

function namedOwner(answers: readonly NodeAnswer[], masters: readonly NodeAnswer[], slot: number): [NodeAnswer, string] | undefined {
  const votes = new Map<NodeAnswer, number>()
  for (const a of answers) for (const e of a.entries) if (e.slots.some((r) => r.start <= slot && slot <= r.end)) {
    const m = masters.find((x) => x.id === e.id)
    if (m) votes.set(m, (votes.get(m) ?? 0) + 1)
  }
  const best = [...votes].sort((x, y) => y[1] - x[1])[0]
  return best && [best[0], 'the other nodes still name it owner']
}

function specOwner(stack: Stack, masters: readonly NodeAnswer[], slot: number): [NodeAnswer | undefined, string] {
  const spec = stack.nodes.find((n) => n.slots && n.slots.start <= slot && slot <= n.slots.end)
  const pair = spec && stack.nodes.filter((n) => n === spec || n.masterIndex === spec.index)
  return [masters.find((m) => pair?.includes(m.node)), "the spec's range"]
}
