#!/usr/bin/env tsx
import { renderTable, runScript } from '@redis-cluster/core'
import { selectRuntime } from '../src/index.ts'

await runScript({
  name: 'ps',
  description: 'the state of each node process or container (running, stopped, absent)',
  run: async ({ stack, notice }) => {
    const runtime = await selectRuntime(stack, { notice })
    return { runtime: runtime.name, nodes: await runtime.ps(stack) }
  },
  render: ({ runtime, nodes }) =>
    `${renderTable([['NODE', 'PORT', 'STATE', 'PID'], ...nodes.map((n) => [n.node, `${n.port}`, n.state, n.pid ? `${n.pid}` : '-'])])}\nruntime: ${runtime}`,
  exitCode: ({ nodes }) => (nodes.every((n) => n.state === 'running') ? 0 : 1),
})
