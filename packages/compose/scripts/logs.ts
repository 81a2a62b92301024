#!/usr/bin/env tsx
import { UsageError, findNode, runScript } from '@redis-cluster/core'
import { selectRuntime } from '../src/index.ts'

await runScript({
  name: 'logs',
  description: "the last lines of each node's log (or of one node)",
  flags: {
    node: { type: 'string', description: 'only this node: redis-node-N or N' },
    lines: { type: 'string', description: 'how many lines per node (default 20)', short: 'n' },
  },
  run: async ({ stack, args, notice }) => {
    const runtime = await selectRuntime(stack, { notice })
    const nodes = args.node ? [findNode(stack, args.node)] : stack.nodes
    const lines = Number(args.lines ?? 20)
    if (!Number.isInteger(lines) || lines < 1) throw new UsageError(`--lines must be a positive integer, not '${args.lines}'`)
    return Promise.all(nodes.map(async (node) => ({ node: node.name, log: await runtime.logTail(stack, node, lines) })))
  },
  render: (logs) => logs.map(({ node, log }) => `==> ${node} <==\n${log}`).join('\n\n'),
})
