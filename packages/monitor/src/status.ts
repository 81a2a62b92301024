import { connectNode, countSlots, formatRanges, parseClusterNodes, parseInfo, type Stack, type StackNode } from '@redis-cluster/core'

export interface NodeStatus {
  readonly node: string
  readonly port: number
  readonly up: boolean
  readonly role: 'master' | 'replica' | 'down'
  readonly id?: string
  /** Name of the node this one replicates. */
  readonly master?: string
  readonly slots?: string
  readonly slotCount?: number
  readonly keys?: number
  readonly memoryBytes?: number
  readonly clients?: number
  /** replica: master_link_status; master: how many replicas are online. */
  readonly link?: string
  readonly clusterState?: string
  readonly error?: string
}

export interface ClusterStatus {
  readonly ok: boolean
  readonly nodes: readonly NodeStatus[]
}

/** One row per node, read directly from each node; a node that does not answer is a row too, not an error. */
export async function getStatus(stack: Stack): Promise<ClusterStatus> {
  const raw = await Promise.all(stack.nodes.map((node) => readNode(stack, node)))
  const nameById = new Map(raw.flatMap((r) => (r.id ? [[r.id, r.node] as const] : [])))
  const nodes = raw.map(({ masterId, ...row }) => (masterId ? { ...row, master: nameById.get(masterId) ?? masterId.slice(0, 8) } : row))
  const ok = nodes.every((n) => n.up && n.clusterState === 'ok' && (n.role !== 'replica' || n.link === 'up'))
  return { ok, nodes }
}

async function readNode(stack: Stack, node: StackNode): Promise<NodeStatus & { masterId?: string }> {
  const base = { node: node.name, port: node.port }
  let client
  try {
    client = await connectNode(stack, node, { connectTimeoutMs: 1000 })
  } catch (error) {
    return { ...base, up: false, role: 'down', error: (error as Error).message }
  }
  try {
    const [nodesText, clusterInfo, info, keys] = await Promise.all([
      client.cluster('NODES') as Promise<string>,
      client.cluster('INFO') as Promise<string>,
      client.info(),
      client.dbsize(),
    ])
    const myself = parseClusterNodes(nodesText).find((e) => e.myself)!
    const fields = { ...parseInfo(info), ...parseInfo(clusterInfo) }
    const slotCount = countSlots(myself.slots)
    return {
      ...base,
      up: true,
      role: myself.role,
      id: myself.id,
      masterId: myself.masterId,
      slots: formatRanges(myself.slots),
      slotCount,
      keys,
      memoryBytes: Number(fields.used_memory),
      clients: Number(fields.connected_clients),
      link: myself.role === 'replica' ? fields.master_link_status : `${fields.connected_slaves} replica(s)`,
      clusterState: fields.cluster_state,
    }
  } finally {
    client.disconnect()
  }
}
