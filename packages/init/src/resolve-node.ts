import { UsageError, answered, findNode, type NodeReading, type Stack, type StackNode } from '@redis-cluster/core'

/**
 * A node named by the user: stack name or index (findNode), `host:port`,
 * client port, or cluster node id (the full 40 characters or a unique prefix
 * of 8 or more). Every maintenance command names nodes this one way. A bare
 * port is ambiguous where nodes share it (an external cluster may run every
 * node on one port, one per host): that is a UsageError naming them.
 */
export function resolveNode(stack: Stack, ref: string, readings: readonly NodeReading[]): StackNode {
  const named = stack.nodes.find((n) => n.name === ref || `${n.host}:${n.port}` === ref)
  if (named) return named
  const byPort = /^[0-9]+$/.test(ref) ? stack.nodes.filter((n) => `${n.port}` === ref) : []
  if (byPort.length > 1) {
    throw new UsageError(`port ${ref} is ambiguous: ${byPort.length} nodes use it (${byPort.map((n) => n.name).join(', ')})`, `name one as host:port, e.g. ${byPort[0]!.name}`)
  }
  if (byPort.length === 1) return byPort[0]!
  const byId = ref.length >= 8 && /^[0-9a-f]+$/.test(ref) ? readings.filter(answered).filter((r) => r.id.startsWith(ref)) : []
  if (byId.length === 1) return byId[0]!.node
  try {
    return findNode(stack, ref)
  } catch (error) {
    throw new UsageError(`unknown node '${ref}': not a node name, host:port, index, port or id of this stack`, error instanceof UsageError ? `${error.hint}, a port, or a node id` : undefined)
  }
}
