import { ConfigError, connectNode, type Credentials, type NodeClient, type Stack, type StackNode } from '@redis-cluster/core'

/**
 * Connects to one node with the first of `candidates` it accepts. A
 * rotation changes passwords node by node, so in an interrupted one a node
 * may know only the old password or only the new: a wrong password
 * (ConfigError) moves on to the next candidate, anything else fails.
 */
export async function connectWithAny(candidates: readonly Credentials[], node: StackNode): Promise<NodeClient> {
  for (const credentials of candidates.slice(0, -1)) {
    try {
      return await connectNode(credentials, node)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
    }
  }
  return connectNode(candidates.at(-1)!, node)
}

/**
 * Runs `work` on every node at once and waits for all of them, so a node
 * that fails never leaves another half-done; then throws the first failure
 * (its typed error names the node), or returns each node's answer in order.
 */
export async function onEveryNode<T>(nodes: readonly StackNode[], work: (node: StackNode, index: number) => Promise<T>): Promise<T[]> {
  const results = await Promise.allSettled(nodes.map(work))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  return results.map((r) => (r as PromiseFulfilledResult<T>).value)
}

/** One connection per node (all must answer: 75 names a node that is down), closed by the caller. */
export async function connectEveryNode(stack: Stack, candidates: readonly Credentials[]): Promise<NodeClient[]> {
  const opened: NodeClient[] = []
  try {
    return await onEveryNode(stack.nodes, async (node) => {
      const client = await connectWithAny(candidates, node)
      opened.push(client)
      return client
    })
  } catch (error) {
    for (const client of opened) client.disconnect()
    throw error
  }
}
