import { connectNode, formatRanges, migrateAuth, toRanges, type NodeAnswer, type Problem, type Stack } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'

export interface ClaimSettlement {
  /** The claimer with the older config epoch: every other node already follows the winner. */
  readonly loser: NodeAnswer
  readonly winner: NodeAnswer
  readonly slots: readonly number[]
  readonly ranges: string
}

/** For each slot two masters claim, who gives it up: the claim with the older config epoch (the one gossip would drop). */
export function planClaims(answers: readonly NodeAnswer[], problems: readonly Problem[]): ClaimSettlement[] {
  const settlements = new Map<string, { loser: NodeAnswer; winner: NodeAnswer; slots: number[] }>()
  for (const slot of problems.filter((p) => p.kind === 'claimed-twice').flatMap((p) => p.slots ?? [])) {
    const claimers = answers.filter((a) => a.myself.slots.some((r) => r.start <= slot && slot <= r.end)).sort((x, y) => y.myself.configEpoch - x.myself.configEpoch)
    const [winner, ...losers] = claimers
    for (const loser of losers) {
      const key = `${loser.id}>${winner!.id}`
      const entry = settlements.get(key) ?? { loser, winner: winner!, slots: [] }
      entry.slots.push(slot)
      settlements.set(key, entry)
    }
  }
  return [...settlements.values()].map((s) => ({ ...s, ranges: formatRanges(toRanges(s.slots)) }))
}

/**
 * The loser's keys in those slots go to the winner (MIGRATE without REPLACE:
 * a key on both sides stops it, both copies kept), then the loser gives the
 * slots up (SETSLOT NODE winner) if it knows the winner; one that forgot it
 * learns of it by CLUSTER MEET later, and gossip hands the slots over. Done
 * before that, because redis deletes the keys of a slot a node loses to a
 * newer claim. Returns the slots it could not settle, with why.
 */
export async function settleClaims(stack: Stack, runtime: Runtime, { loser, winner, slots }: ClaimSettlement): Promise<string[]> {
  const client = await connectNode(stack, loser.node, { commandTimeoutMs: 30_000 })
  const kept: string[] = []
  const knowsWinner = loser.entries.some((e) => e.id === winner.id)
  try {
    for (const slot of slots) {
      for (;;) {
        const keys = (await client.cluster('GETKEYSINSLOT', slot, 100)) as string[]
        if (keys.length === 0) break
        try {
          await client.call('MIGRATE', runtime.clusterAddress(winner.node), winner.node.port, '', 0, 10_000, ...migrateAuth(stack), 'KEYS', ...keys)
        } catch (error) {
          if (!/BUSYKEY/.test((error as Error).message)) throw error
          kept.push(`${loser.node.name}: slot ${slot} holds a key that ${winner.node.name} also has: both kept, the slot left claimed twice; compare them and delete one copy`)
          break
        }
      }
      if (knowsWinner && !kept.some((k) => k.includes(`slot ${slot} `))) await client.cluster('SETSLOT', slot, 'NODE', winner.id)
    }
  } finally {
    client.disconnect()
  }
  return kept
}
