import { SLOT_COUNT, formatRanges, toRanges } from './layout.ts'
import type { ClusterNodeEntry } from './cluster-nodes.ts'
import type { NodeAnswer } from './health.ts'

export interface SlotFinding {
  readonly kind: 'open-slot' | 'uncovered' | 'claimed-twice'
  readonly node: string
  readonly what: string
  readonly slots: readonly number[]
}

/**
 * The slot map as the nodes claim it (each node's `myself` entry, the only
 * claim a node makes itself): open (migrating/importing) slots, slots no
 * answering node claims (unless a silent node is said to own them: its
 * silence is the problem then) and slots two nodes claim at once.
 */
export function slotFindings(answers: readonly NodeAnswer[], isSilent: (entry: ClusterNodeEntry) => boolean): SlotFinding[] {
  const findings: SlotFinding[] = []
  const nameOf = (id: string) => answers.find((a) => a.id === id)?.node.name ?? id.slice(0, 8)
  for (const { node, myself } of answers) {
    for (const { slot, nodeId } of myself.migrating) findings.push({ kind: 'open-slot', node: node.name, what: `slot ${slot} is migrating to ${nameOf(nodeId)} (an interrupted reshard?)`, slots: [slot] })
    for (const { slot, nodeId } of myself.importing) findings.push({ kind: 'open-slot', node: node.name, what: `slot ${slot} is importing from ${nameOf(nodeId)} (an interrupted reshard?)`, slots: [slot] })
  }
  const claims: string[][] = Array.from({ length: SLOT_COUNT }, () => [])
  for (const { node, myself } of answers) for (const r of myself.slots) for (let s = r.start; s <= r.end; s++) claims[s]!.push(node.name)
  const ownedBySilent = new Set<number>()
  for (const { entries } of answers) for (const e of entries) if (isSilent(e)) for (const r of e.slots) for (let s = r.start; s <= r.end; s++) ownedBySilent.add(s)
  const uncovered = claims.flatMap((c, s) => (c.length === 0 && !ownedBySilent.has(s) ? [s] : []))
  if (uncovered.length > 0) findings.push({ kind: 'uncovered', node: 'cluster', what: `${uncovered.length} slot(s) claimed by no node: ${formatRanges(toRanges(uncovered))}`, slots: uncovered })
  const twice = new Map<string, number[]>()
  claims.forEach((c, s) => c.length > 1 && twice.set(c.join(' and '), [...(twice.get(c.join(' and ')) ?? []), s]))
  for (const [who, slots] of twice) findings.push({ kind: 'claimed-twice', node: who.split(' and ')[0]!, what: `slot(s) ${formatRanges(toRanges(slots))} claimed by both ${who}`, slots })
  return findings
}
