import { describe, expect, it } from 'vitest'
import { isEntryOf, parseClusterNodes } from './cluster-nodes.ts'

const TEXT = [
  '07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,hostname4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected',
  'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 7000 [5461->-abc] [5462-<-def]',
  '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master,fail? - 1426238316232 1426238316232 3 disconnected',
].join('\n')

describe('parseClusterNodes()', () => {
  it('works', () => {
    const [replica, self, failing] = parseClusterNodes(TEXT)
    expect(replica).toMatchObject({ role: 'replica', masterId: 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca', port: 30004, busPort: 31004, slots: [] })
    expect(self).toMatchObject({ myself: true, role: 'master', configEpoch: 1, slots: [{ start: 0, end: 5460 }, { start: 7000, end: 7000 }], migrating: [{ slot: 5461, nodeId: 'abc' }], importing: [{ slot: 5462, nodeId: 'def' }] })
    expect(failing).toMatchObject({ unhealthy: true, linkState: 'disconnected' })
  })
})

describe('isEntryOf()', () => {
  it('works: the same port at the address the node is dialled at or announces on the compose network', () => {
    expect(isEntryOf({ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7000, clusterIp: undefined })).toBe(true)
    expect(isEntryOf({ host: '172.19.0.2', port: 7000 }, { host: '127.0.0.1', port: 7000, clusterIp: '172.19.0.2' })).toBe(true)
    expect(isEntryOf({ host: '127.0.0.1', port: 7001 }, { host: '127.0.0.1', port: 7000, clusterIp: undefined })).toBe(false)
  })

  it('tells apart nodes that share one port on different hosts (external)', () => {
    expect(isEntryOf({ host: '127.0.0.3', port: 6379 }, { host: '127.0.0.2', port: 6379, clusterIp: undefined })).toBe(false)
  })
})
