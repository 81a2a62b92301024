#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { selectRuntime } from '@redis-cluster/compose'
import { delNode } from '../src/index.ts'

await runScript({
  name: 'cluster:del-node',
  description: 'remove a node added by cluster:add-node (external: any node) once it owns no slots and no replica follows it (a dead one: by what the other nodes see): forgotten by every node; local: stopped, its data deleted',
  positionals: 'NODE (name, host:port, index, port or node id)',
  flags: {
    force: { type: 'boolean', description: 'remove it even when the cluster is not healthy (every node must still answer)' },
  },
  lock: true,
  run: async ({ stack, args, positionals, progress, notice }) => {
    const runtime = await selectRuntime(stack, { notice })
    return delNode(stack, runtime, { node: positionals[0], force: args.force, progress, notice })
  },
  render: (r) => `${r.node} removed${r.answered ? '' : ' (it did not answer)'}: forgotten by ${r.forgottenBy} nodes${r.stopped ? ', stopped, its data deleted' : ''}`,
})
