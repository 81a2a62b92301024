#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { renderAofRewrite, rewriteAof } from '../src/index.ts'

await runScript({
  name: 'aof:rewrite',
  description: 'BGREWRITEAOF on every node, one at a time (replicas first), waiting out any BGSAVE or rewrite already running; AOF size before/after per node (exit 1 when a node failed)',
  flags: {
    node: { type: 'string', description: 'only this node: its name as `pnpm status` shows it (redis-node-N, host:port on the external runtime) or its index' },
  },
  lock: true,
  run: ({ stack, args, progress, notice }) => rewriteAof(stack, { node: args.node, progress, notice }),
  render: renderAofRewrite,
  exitCode: (result) => (result.ok ? 0 : 1),
})
