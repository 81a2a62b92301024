import { CheckFailedError, connectNode, type NodeAnswer, type NodeClient, type Stack } from '@redis-cluster/core'

/**
 * A key left on both sides of an open slot: MIGRATE wrote it to the target,
 * then the source died before its AOF kept the delete, and came back with
 * it. `redis-cli --cluster fix` then compares the two copies with DEBUG
 * DIGEST-VALUE, which a node refuses unless `enable-debug-command` allows
 * this connection, and gives up on the slot ("Value check failed") on every
 * run. So we compare them ourselves, by their DUMP (the same value gives the
 * same bytes on the same server version), drop the copy on the side that
 * does not own the slot when they are equal, and refuse, overwriting
 * nothing, when they differ. Returns how many copies were dropped.
 */
export async function dropTwinKeys(stack: Stack, answers: readonly NodeAnswer[], progress: (line: string) => void): Promise<number> {
  const slots = new Set(answers.flatMap((a) => [...a.myself.migrating, ...a.myself.importing].map((o) => o.slot)))
  if (slots.size === 0) return 0
  const masters = answers.filter((a) => a.myself.role === 'master')
  const clients = await Promise.all(masters.map((m) => connectNode(stack, m.node)))
  try {
    let dropped = 0
    for (const slot of slots) {
      const holders = (await Promise.all(clients.map(async (client, i) => ({ master: masters[i]!, client, keys: await keysInSlot(client, slot) })))).filter((h) => h.keys.length > 0)
      if (holders.length < 2) continue
      // the copy to keep: on the node that owns the slot in its own view, else on the one holding most keys
      const [keeper, ...others] = holders.sort((a, b) => Number(owns(b.master, slot)) - Number(owns(a.master, slot)) || b.keys.length - a.keys.length)
      const kept = new Set(keeper!.keys.map((k) => k.toString('binary')))
      let twins = 0
      for (const other of others) {
        for (const key of other.keys.filter((k) => kept.has(k.toString('binary')))) {
          const [mine, theirs] = await Promise.all([dump(keeper!.client, key), dump(other.client, key)])
          if (mine && theirs && !mine.equals(theirs)) {
            throw new CheckFailedError(
              `slot ${slot}: key '${key.toString()}' has different values on ${keeper!.master.node.name} and ${other.master.node.name}; nothing was overwritten`,
              'keep the right copy yourself (DUMP both, DEL the stale one with ASKING first on an importing node), then run `pnpm cluster:fix` again',
            )
          }
          await other.client.pipeline().call('ASKING').del(key).exec()
          twins++
        }
      }
      if (twins > 0) progress(`slot ${slot}: dropped ${twins} second copy(ies) of keys ${keeper!.master.node.name} holds with the same value`)
      dropped += twins
    }
    return dropped
  } finally {
    clients.forEach((c) => c.disconnect())
  }
}

const owns = (master: NodeAnswer, slot: number) => master.myself.slots.some((r) => r.start <= slot && slot <= r.end)

async function keysInSlot(client: NodeClient, slot: number): Promise<Buffer[]> {
  const count = Number(await client.cluster('COUNTKEYSINSLOT', slot))
  return count > 0 ? ((await client.callBuffer('CLUSTER', 'GETKEYSINSLOT', slot, count)) as Buffer[]) : []
}

/** DUMP on a node that may only import the slot: ASKING lets the one command through. */
async function dump(client: NodeClient, key: Buffer): Promise<Buffer | null> {
  const [, [error, value] = []] = (await client.pipeline().call('ASKING').dumpBuffer(key).exec()) ?? []
  if (error) throw error
  return value as Buffer | null
}
