import { describe, expect, it } from 'vitest'
import { measureRates, renderReport, type ClusterReport, type NodeRow } from '../src/index.ts'

const node = (name: string, keys: number, commandsProcessed: number): NodeRow =>
  ({ node: name, up: true, role: 'master', shard: '0-5460', keys, commandsProcessed, address: '127.0.0.1:1', slots: '0-5460', slotCount: 5461, keysWithExpiry: 0, usedMemory: 1, peakMemory: 1, maxMemory: 0, fragmentation: 1, clients: 1, blockedClients: 0, opsPerSec: 7, hits: 0, misses: 0, hitRatio: null, expiredKeys: 0, evictedKeys: 0, rejectedConnections: 0, replicationOffset: 0, rdbLastSave: 0, rdbLastSaveOk: true, rdbChangesSinceSave: 0, aofEnabled: false, aofLastRewriteOk: true, aofLastWriteOk: true }) as NodeRow
const report = (nodes: NodeRow[]): ClusterReport => ({ at: '2026-01-01T00:00:00.000Z', complete: true, nodes, shards: [{ shard: '0-5460', nodes: nodes.map((n) => n.node), nodesUp: nodes.length, slotCount: 5461, keys: 0, keysWithExpiry: 0, usedMemory: 0, opsPerSec: 0, maxLagBytes: 0 }], totals: { nodes: nodes.length, nodesUp: nodes.length, keys: 0, keysWithExpiry: 0, usedMemory: 0, opsPerSec: 0, clients: 0, expiredKeys: 0, evictedKeys: 0, rejectedConnections: 0 } })

describe('measureRates()', () => {
  it('divides the change of commands and keys by the seconds between two reports', () => {
    const rates = measureRates(report([node('a', 100, 1000), node('b', 50, 10)]), report([node('a', 300, 1500), node('b', 40, 30)]), 2)
    expect(rates.get('a')).toEqual({ opsPerSec: 250, keysPerSec: 100 })
    expect(rates.get('b')).toEqual({ opsPerSec: 10, keysPerSec: -5 })
  })

  it('shows 0 ops/s for a node that restarted in between (its counter went back) and for a node seen only now', () => {
    const rates = measureRates(report([node('a', 100, 1000)]), report([node('a', 0, 20), node('b', 5, 5)]), 1)
    expect(rates.get('a')!.opsPerSec).toBe(0)
    expect(rates.get('b')).toEqual({ opsPerSec: 0, keysPerSec: 0 })
  })

  it('feeds the table: OPS/S becomes the measured rate and KEYS/S appears', () => {
    const after = report([node('a', 300, 1500)])
    const table = renderReport(after, { rates: measureRates(report([node('a', 100, 1000)]), after, 2) })
    expect(table).toMatch(/^SHARD +NODE +ROLE +KEYS +KEYS\/S .* OPS\/S /m)
    expect(table).toMatch(/^0-5460 +a +master +300 +100 .* 250 /m)
    expect(renderReport(after)).not.toMatch(/KEYS\/S/)
  })
})
