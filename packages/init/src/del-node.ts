import { rmSync } from 'node:fs'
import { CheckFailedError, UsageError, connectAll, describeFsError, formatRanges, readAddedNodes, writeAddedNodes, type Stack } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { findClusterNode, readCluster, readClusterMap, slotCount } from './_cluster-map.ts'

export interface DelNodeOptions {
  /** The node to remove: name, index, port or node id, as typed. */
  readonly node: string | undefined
  readonly force?: boolean
  readonly progress?: (line: string) => void
  readonly notice?: (line: string) => void
}

export interface DelNodeResult {
  readonly node: string
  readonly id: string
  readonly forgottenBy: number
  readonly stopped: boolean
}

/**
 * `cluster:del-node NODE`: removes a node added by `cluster:add-node`, only
 * once it owns no slots and no replica follows it: every other node forgets
 * it (CLUSTER FORGET, all within the 60 s in which a forgotten node may not
 * be re-added by gossip), it is reset so it cannot gossip its way back, then
 * the local runtime stops it, deletes its data and drops it from the record.
 * The spec's six nodes are the compose file's and stay.
 */
export async function delNode(stack: Stack, runtime: Runtime, options: DelNodeOptions): Promise<DelNodeResult> {
  if (options.node === undefined) throw new UsageError('name the node to remove', 'e.g. pnpm cluster:del-node redis-node-6')
  const map = await readCluster(stack)
  const target = findClusterNode(stack, map, options.node, 'node')
  if (!target.node.added) throw new UsageError(`${target.node.name} is one of the spec's nodes (the compose file's), not an added one`, 'only nodes added by `pnpm cluster:add-node` can be removed')
  if (target.myself.slots.length > 0) {
    throw new CheckFailedError(
      `${target.node.name} still owns ${slotCount(target)} slots (${formatRanges(target.myself.slots)}); removing it would lose them and their keys`,
      `move them off first: \`pnpm cluster:rebalance --weights ${target.node.name}=0\` (or \`pnpm cluster:reshard\`), then run this again`,
    )
  }
  const followers = map.answers.filter((a) => a.myself.masterId === target.id)
  if (followers.length > 0) throw new CheckFailedError(`${followers.map((f) => f.node.name).join(', ')} replicate(s) ${target.node.name}`, `remove them first: pnpm cluster:del-node ${followers[0]!.node.name}`)
  await readClusterMap(stack, { force: options.force })

  const others = map.answers.filter((a) => a !== target)
  const clients = await connectAll(stack, others.map((a) => a.node))
  try {
    options.progress?.(`${target.node.name}: forgotten by the ${others.length} other nodes`)
    await Promise.all(clients.map((c) => c.cluster('FORGET', target.id)))
  } finally {
    clients.forEach((c) => c.disconnect())
  }
  const [client] = await connectAll(stack, [target.node])
  try {
    // HARD: a new id, so it never rejoins as the forgotten node; a replica's copy of its master's data goes with it
    await client!.cluster('RESET', 'HARD')
  } finally {
    client!.disconnect()
  }
  let stopped = false
  if (runtime.name === 'local') {
    options.progress?.(`${target.node.name}: stopping it and deleting its data`)
    await runtime.stop({ ...stack, nodes: [target.node] }, { purge: false })
    try {
      rmSync(target.node.dataDir, { recursive: true, force: true })
    } catch (error) {
      throw describeFsError(error, { otherwise: `delete ${target.node.dataDir} yourself` })
    }
    stopped = true
    const record = readAddedNodes(stack.dataDir)
    if ('nodes' in record) writeAddedNodes(stack.dataDir, record.nodes.filter((n) => n.name !== target.node.name))
  } else {
    options.notice?.(`${target.node.name} left the cluster; remove its service from the compose file, then \`docker compose rm -sf ${target.node.name}\``)
  }
  return { node: target.node.name, id: target.id, forgottenBy: others.length, stopped }
}
