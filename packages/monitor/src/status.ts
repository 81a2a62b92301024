import { answered, assessHealth, countSlots, formatRanges, readNodes, silenceReason, type NodeReading, type Stack } from '@redis-cluster/core'

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
  /** Why a node that is not up did not answer. */
  readonly error?: string
}

export interface ClusterStatus {
  /** The one health verdict (core's assessHealth), the same `up` waits for. */
  readonly ok: boolean
  readonly problems: readonly string[]
  readonly drift: readonly string[]
  readonly restore: readonly string[]
  readonly nodes: readonly NodeStatus[]
}

/**
 * One row per node, read directly from each node; a node that does not
 * answer (down, paused, refusing) is a row saying why, not an error. A node
 * refusing our password is a configuration error (exit 78): the rows would
 * only repeat it.
 */
export async function getStatus(stack: Stack): Promise<ClusterStatus> {
  const readings = await readNodes(stack)
  const refused = readings.find((r) => !answered(r) && r.error.exitCode === 78)
  if (refused && !answered(refused)) throw refused.error
  const { healthy, problems, drift, restore } = assessHealth(stack, readings)
  return { ok: healthy, problems, drift, restore, nodes: readings.map((r) => toRow(r, readings)) }
}

function toRow(reading: NodeReading, all: readonly NodeReading[]): NodeStatus {
  const base = { node: reading.node.name, port: reading.node.port }
  if (!answered(reading)) return { ...base, up: false, role: 'down', error: silenceReason(reading) }
  const { myself, info, id, keys } = reading
  const master = myself.masterId && all.find((r) => answered(r) && r.id === myself.masterId)
  return {
    ...base,
    up: true,
    role: myself.role,
    id,
    ...(myself.masterId ? { master: master ? master.node.name : myself.masterId.slice(0, 8) } : {}),
    slots: formatRanges(myself.slots),
    slotCount: countSlots(myself.slots),
    keys,
    memoryBytes: Number(info.used_memory),
    clients: Number(info.connected_clients),
    link: myself.role === 'replica' ? info.master_link_status : `${info.connected_slaves} replica(s)`,
    clusterState: info.cluster_state,
  }
}


