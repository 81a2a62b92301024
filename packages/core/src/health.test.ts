import { describe, expect, it } from 'vitest'
import { assessHealth, describeDrift, replicaLinks, silenceReason, type NodeAnswer, type NodeReading } from './health.ts'
import { parseClusterNodes } from './cluster-nodes.ts'
import { TemporaryError } from './errors.ts'
import { splitSlots, formatRanges } from './layout.ts'
import type { Stack, StackNode } from './stack.ts'

const ranges = splitSlots(3)
const nodes: StackNode[] = Array.from({ length: 6 }, (_, i) => ({
  index: i,
  name: `redis-node-${i}`,
  port: 7000 + i,
  busPort: 17000 + i,
  host: '127.0.0.1',
  clusterIp: undefined,
  role: i < 3 ? 'master' : 'replica',
  masterIndex: i < 3 ? undefined : i - 3,
  slots: i < 3 ? ranges[i] : undefined,
  dataDir: `/tmp/n${i}`,
}))
const stack = { nodes } as unknown as Stack
const id = (i: number) => `${i}`.repeat(40)

interface Shape {
  /** index of the node each replica replicates; -1: a master */
  masterOf: number[]
  /** slot ranges per node */
  slots: string[]
}
const spec: Shape = { masterOf: [-1, -1, -1, 0, 1, 2], slots: ranges.map((r) => formatRanges([r])).concat(['', '', '']) }

/** The readings of a cluster of this shape, every view consistent, every replica online and caught up. */
function readings(shape: Shape = spec, info: (i: number) => Partial<Record<string, string>> = () => ({})): NodeAnswer[] {
  const line = (i: number, me: number) =>
    [id(i), `127.0.0.1:${7000 + i}@${17000 + i}`, `${i === me ? 'myself,' : ''}${shape.masterOf[i]! < 0 ? 'master' : 'slave'}`, shape.masterOf[i]! < 0 ? '-' : id(shape.masterOf[i]!), '0', '0', `${i + 1}`, 'connected', shape.slots[i]].join(' ').trim()
  return nodes.map((node, me) => {
    const entries = parseClusterNodes(nodes.map((_, i) => line(i, me)).join('\n'))
    const replicas = shape.masterOf.flatMap((m, i) => (m === me ? [i] : []))
    const base: Record<string, string> = {
      cluster_state: 'ok',
      cluster_slots_ok: '16384',
      cluster_known_nodes: '6',
      role: shape.masterOf[me]! < 0 ? 'master' : 'slave',
      master_link_status: 'up',
      master_sync_in_progress: '0',
      master_repl_offset: '1000',
      connected_slaves: `${replicas.length}`,
      rdb_last_bgsave_status: 'ok',
      aof_last_write_status: 'ok',
      aof_last_bgrewrite_status: 'ok',
      ...Object.fromEntries(replicas.map((r, k) => [`slave${k}`, `ip=127.0.0.1,port=${7000 + r},state=online,offset=1000,lag=0`])),
    }
    return { node, id: id(me), entries, myself: entries.find((e) => e.myself)!, info: { ...base, ...info(me) } as Record<string, string>, keys: 0 }
  })
}

describe('assessHealth()', () => {
  it('works: the spec layout, replicas online and caught up, is healthy with no drift', () => {
    expect(assessHealth(stack, readings())).toEqual({ healthy: true, problems: [], details: [], drift: [], restore: [] })
  })

  it('calls a failed-over pair healthy, and says how to restore the layout', () => {
    const swapped: Shape = { masterOf: [3, -1, -1, -1, 1, 2], slots: ['', spec.slots[1]!, spec.slots[2]!, spec.slots[0]!, '', ''] }
    const report = assessHealth(stack, readings(swapped))
    expect(report.healthy).toBe(true)
    expect(report.drift).toEqual(['redis-node-3 is master of 0-5460 in place of redis-node-0'])
    expect(report.restore).toEqual(['pnpm cluster:failover --restore-layout'])
    expect(describeDrift(report)).toMatch(/^layout differs from the spec: .*restore with: pnpm cluster:failover --restore-layout$/)
  })

  it('is not healthy when creation stopped before the replicas were attached', () => {
    const report = assessHealth(stack, readings({ masterOf: [-1, -1, -1, -1, -1, -1], slots: spec.slots }))
    expect(report.healthy).toBe(false)
    expect(report.problems).toContain('redis-node-3: is a master without slots: it should replicate a master (an interrupted creation? run `pnpm run up`)')
    expect(report.problems).toContain('redis-node-0: master of 0-5460 has no replica online: losing it loses those slots')
  })

  it('is not healthy when a node failed to persist', () => {
    const report = assessHealth(stack, readings(spec, (i) => (i === 4 ? { rdb_last_bgsave_status: 'err' } : i === 1 ? { aof_last_write_status: 'err' } : {})))
    expect(report.healthy).toBe(false)
    expect(report.problems).toEqual([
      expect.stringMatching(/^redis-node-1: cannot persist: aof_last_write_status:err/),
      expect.stringMatching(/^redis-node-4: cannot persist: rdb_last_bgsave_status:err/),
    ])
  })

  it('is not healthy when a replica lags, syncs, or its link is down', () => {
    const lagging = readings(spec, (i) => (i === 0 ? { master_repl_offset: `${1000 + 2 * 1024 * 1024}` } : i === 4 ? { master_link_status: 'down' } : i === 5 ? { master_sync_in_progress: '1' } : {}))
    expect(assessHealth(stack, lagging).problems).toEqual([
      'redis-node-0: replica 127.0.0.1:7003 is 2097152 bytes behind',
      'redis-node-4: master_link_status:down',
      'redis-node-5: initial sync in progress',
    ])
  })

  it('names a node that did not answer, and does not call its id foreign', () => {
    const all: NodeReading[] = readings()
    all[2] = { node: nodes[2]!, error: new TemporaryError('redis-node-2 (127.0.0.1:7002) did not answer in time') }
    const report = assessHealth(stack, all)
    expect(report.healthy).toBe(false)
    expect(report.problems).toEqual(['redis-node-2 (127.0.0.1:7002) did not answer in time'])
  })

  it('is not healthy when views disagree or a node is flagged failing', () => {
    const all = readings()
    const stale = readings({ masterOf: [-1, -1, -1, 0, 1, 2], slots: [spec.slots[0]!, '', spec.slots[2]!, '', '', ''] })[5]!
    all[5] = { ...stale, info: all[5]!.info }
    const flagged = readings(spec)
    const entries = flagged[1]!.entries.map((e) => (e.id === id(2) ? { ...e, flags: ['master', 'fail?'], unhealthy: true } : e))
    flagged[1] = { ...flagged[1]!, entries }
    expect(assessHealth(stack, all).problems).toEqual(['redis-node-5: has a stale slot map for redis-node-1'])
    expect(assessHealth(stack, flagged).problems).toEqual(['redis-node-1: sees redis-node-2 as master,fail?'])
  })

  it('reports open slots, slots claimed by two nodes or by none, and config epochs that disagree, each with its fix', () => {
    const open = readings()
    const text = (me: number, extra: string) => open[me]!.entries.map((e) => [e.id, `${e.host}:${e.port}@${e.busPort}`, `${e.myself ? 'myself,' : ''}${e.role === 'master' ? 'master' : 'slave'}`, e.masterId ?? '-', '0', '0', `${e.configEpoch}`, 'connected', formatRanges(e.slots).replaceAll(',', ' '), e.myself ? extra : ''].join(' ').trim()).join('\n')
    const withNodes = (me: number, nodesText: string) => {
      const entries = parseClusterNodes(nodesText)
      return { ...open[me]!, entries, myself: entries.find((e) => e.myself)! }
    }
    open[0] = withNodes(0, text(0, `[42->-${id(1)}]`))
    open[1] = withNodes(1, text(1, `[42-<-${id(0)}]`))
    const report = assessHealth(stack, open)
    expect(report.details).toEqual([
      { kind: 'open-slot', node: 'redis-node-0', text: 'redis-node-0: slot 42 is migrating to redis-node-1 (an interrupted reshard?)', fix: 'pnpm cluster:fix', slots: [42] },
      { kind: 'open-slot', node: 'redis-node-1', text: 'redis-node-1: slot 42 is importing from redis-node-0 (an interrupted reshard?)', fix: 'pnpm cluster:fix', slots: [42] },
    ])

    const twice = readings({ masterOf: spec.masterOf, slots: [spec.slots[0]!, `0-9 ${spec.slots[1]!}`, spec.slots[2]!, '', '', ''] })
    expect(assessHealth(stack, twice).details.filter((d) => d.kind === 'claimed-twice')).toEqual([
      { kind: 'claimed-twice', node: 'redis-node-0', text: 'redis-node-0: slot(s) 0-9 claimed by both redis-node-0 and redis-node-1', fix: 'pnpm cluster:fix', slots: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    ])
    const none = readings({ masterOf: spec.masterOf, slots: ['0-99 200-5460', spec.slots[1]!, spec.slots[2]!, '', '', ''] })
    expect(assessHealth(stack, none).problems).toContain('cluster: 100 slot(s) claimed by no node: 100-199')

    const epochs = readings()
    epochs[2] = withNodes(2, epochs[2]!.entries.map((e) => [e.id, `${e.host}:${e.port}@${e.busPort}`, `${e.myself ? 'myself,' : ''}${e.role === 'master' ? 'master' : 'slave'}`, e.masterId ?? '-', '0', '0', e.id === id(0) ? '9' : `${e.configEpoch}`, 'connected', formatRanges(e.slots)].join(' ').trim()).join('\n'))
    expect(assessHealth(stack, epochs).details).toEqual([{ kind: 'views', node: 'redis-node-2', text: 'redis-node-2: sees redis-node-0 at config epoch 9, it says 1', fix: expect.stringMatching(/^pnpm cluster:fix/) }])
  })
})

describe('replicaLinks()', () => {
  it("reads each replica's address, state, offset and ack age from the master's INFO", () => {
    const info = { connected_slaves: '2', slave0: 'ip=172.19.0.63,port=6382,state=online,offset=1234,lag=0', slave1: 'ip=127.0.0.1,port=7004,state=wait_bgsave,offset=0,lag=3' }
    expect(replicaLinks({ info })).toEqual([
      { ip: '172.19.0.63', port: 6382, address: '172.19.0.63:6382', state: 'online', offset: 1234, lag: 0 },
      { ip: '127.0.0.1', port: 7004, address: '127.0.0.1:7004', state: 'wait_bgsave', offset: 0, lag: 3 },
    ])
    expect(replicaLinks({ info: { connected_slaves: '0' } })).toEqual([])
  })
})

describe('silenceReason()', () => {
  it('drops the node name and address a row already shows', () => {
    const error = new TemporaryError('redis-node-5 (127.0.0.1:7005) is not running (connection refused)')
    expect(silenceReason({ node: nodes[5]!, error })).toBe('is not running (connection refused)')
  })
})
