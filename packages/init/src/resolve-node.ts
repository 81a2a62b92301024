import { UsageError, answered, findNode, type NodeReading, type Stack, type StackNode } from '@redis-cluster/core'

/**
 * A node named by the user: stack name or index (findNode), client port, or
 * cluster node id (the full 40 characters or a unique prefix of 8 or more).
 * Every maintenance command names nodes this one way.
 */
export function resolveNode(stack: Stack, ref: string, readings: readonly NodeReading[]): StackNode {
  const byPort = stack.nodes.find((n) => `${n.port}` === ref)
  if (byPort) return byPort
  const byId = ref.length >= 8 && /^[0-9a-f]+$/.test(ref) ? readings.filter(answered).filter((r) => r.id.startsWith(ref)) : []
  if (byId.length === 1) return byId[0]!.node
  try {
    return findNode(stack, ref)
  } catch (error) {
    throw new UsageError(`unknown node '${ref}': not a node name, index, port or id of this stack`, error instanceof UsageError ? `${error.hint}, a port, or a node id` : undefined)
  }
}
