import type { SlotRange } from './layout.ts'
import type { StackNode } from './stack.ts'

export interface OpenSlot {
  readonly slot: number
  /** The other side: the target of a migration, the source of an import. */
  readonly nodeId: string
}

export interface ClusterNodeEntry {
  readonly id: string
  readonly host: string
  readonly port: number
  readonly busPort: number
  readonly flags: readonly string[]
  /** Node id of its master, for a replica. */
  readonly masterId: string | undefined
  readonly configEpoch: number
  readonly linkState: 'connected' | 'disconnected'
  readonly slots: readonly SlotRange[]
  /** Open slots, shown on `myself` only: `[slot->-id]` being migrated to node id, `[slot-<-id]` being imported from it. */
  readonly migrating: readonly OpenSlot[]
  readonly importing: readonly OpenSlot[]
  readonly myself: boolean
  readonly role: 'master' | 'replica'
  /** `fail`, `fail?`, `noaddr` or `handshake` seen in the flags. */
  readonly unhealthy: boolean
}

/** Parses `CLUSTER NODES` (format: id addr flags master ping pong epoch link slot...). */
export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id, addr, flagText, master, , , epoch, link, ...slotFields] = line.trim().split(' ')
      const [hostPort = '', bus = ''] = (addr ?? '').split('@')
      const at = hostPort.lastIndexOf(':')
      const flags = (flagText ?? '').split(',')
      return {
        id: id ?? '',
        host: hostPort.slice(0, at),
        port: Number(hostPort.slice(at + 1)),
        busPort: Number(bus.split(',')[0]),
        flags,
        masterId: master && master !== '-' ? master : undefined,
        configEpoch: Number(epoch),
        linkState: link === 'connected' ? 'connected' : 'disconnected',
        slots: slotFields.filter((s) => !s.startsWith('[')).map(parseSlotField),
        migrating: openSlots(slotFields, '->-'),
        importing: openSlots(slotFields, '-<-'),
        myself: flags.includes('myself'),
        role: flags.includes('slave') ? 'replica' : 'master',
        unhealthy: flags.some((f) => ['fail', 'fail?', 'noaddr', 'handshake'].includes(f)),
      } satisfies ClusterNodeEntry
    })
}

function parseSlotField(field: string): SlotRange {
  const [start, end = start] = field.split('-')
  return { start: Number(start), end: Number(end) }
}

function openSlots(fields: readonly string[], arrow: string): OpenSlot[] {
  return fields.filter((f) => f.startsWith('[') && f.includes(arrow)).map((f) => {
    const [slot = '', nodeId = ''] = f.slice(1, -1).split(arrow)
    return { slot: Number(slot), nodeId }
  })
}

/**
 * Whether a CLUSTER NODES entry describes this stack node: the same port at
 * the address code here dials (local, external) or the one it announces on
 * the compose network. The port alone is not enough: an external cluster may
 * run every node on one port, each on its own host.
 */
export function isEntryOf(entry: Pick<ClusterNodeEntry, 'host' | 'port'>, node: Pick<StackNode, 'host' | 'port' | 'clusterIp'>): boolean {
  return entry.port === node.port && (entry.host === node.host || entry.host === node.clusterIp)
}
