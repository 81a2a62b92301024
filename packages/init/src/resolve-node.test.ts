import { describe, expect, it } from 'vitest'
import { UsageError, type NodeReading, type Stack, type StackNode } from '@redis-cluster/core'
import { resolveNode } from './resolve-node.ts'

const node = (index: number, name: string, host: string, port: number): StackNode => ({ index, name, host, port, busPort: port + 10000, clusterIp: undefined, role: 'master', masterIndex: undefined, slots: undefined, dataDir: '' })
const reading = (n: StackNode, id: string) => ({ node: n, id }) as unknown as NodeReading
const local = [node(0, 'redis-node-0', '127.0.0.1', 7000), node(1, 'redis-node-1', '127.0.0.1', 7001)]
const external = [node(0, '127.0.0.2:6379', '127.0.0.2', 6379), node(1, '127.0.0.3:6379', '127.0.0.3', 6379)]
const stackOf = (nodes: StackNode[]) => ({ nodes }) as unknown as Stack

describe('resolveNode()', () => {
  it('works: by name, host:port, index, a port one node uses, or an id prefix of 8+', () => {
    const stack = stackOf(local)
    const readings = [reading(local[0]!, 'a'.repeat(40)), reading(local[1]!, 'b'.repeat(40))]
    expect(resolveNode(stack, 'redis-node-1', readings)).toBe(local[1])
    expect(resolveNode(stack, '127.0.0.1:7001', readings)).toBe(local[1])
    expect(resolveNode(stack, '1', readings)).toBe(local[1])
    expect(resolveNode(stack, '7001', readings)).toBe(local[1])
    expect(resolveNode(stack, 'bbbbbbbb', readings)).toBe(local[1])
  })

  it('a port several nodes share (external: one port, many hosts) is a UsageError naming them', () => {
    const stack = stackOf(external)
    expect(resolveNode(stack, '127.0.0.3:6379', [])).toBe(external[1])
    expect(() => resolveNode(stack, '6379', [])).toThrow(UsageError)
    expect(() => resolveNode(stack, '6379', [])).toThrow('port 6379 is ambiguous: 2 nodes use it (127.0.0.2:6379, 127.0.0.3:6379)')
  })

  it('an unknown node is a UsageError with the choices', () => {
    expect(() => resolveNode(stackOf(external), '127.0.0.9:6379', [])).toThrow(/unknown node '127\.0\.0\.9:6379': not a node name, host:port, index, port or id of this stack/)
  })
})
