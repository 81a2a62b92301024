import { parseClusterNodes, parseInfo, type NodeClient } from '@redis-cluster/core'

/**
 * Why a node may not join or form a cluster: joining one that knows other
 * nodes, owns slots, holds keys or replicates would merge two clusters or
 * lose data. Undefined when it is empty and alone (`cluster:add-node` and
 * `cluster:create` both ask, before they change anything).
 */
export async function whyNotEmpty(client: NodeClient): Promise<string | undefined> {
  const [nodes, keys, replication] = await Promise.all([client.cluster('NODES') as Promise<string>, client.dbsize(), client.info('replication')])
  const known = parseClusterNodes(nodes)
  const found = [
    known.length > 1 && `knows ${known.length - 1} other node(s): it belongs to a cluster`,
    known.some((e) => e.myself && e.slots.length > 0) && 'owns slots',
    keys > 0 && `holds ${keys} key(s)`,
    parseInfo(replication).role !== 'master' && 'replicates another node',
  ].filter(Boolean)
  return found.length > 0 ? found.join(', ') : undefined
}
