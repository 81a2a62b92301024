#!/usr/bin/env tsx
import { describeDrift, runScript } from '@redis-cluster/core'
import { selectRuntime } from '@redis-cluster/compose'
import { formCluster } from '../src/index.ts'

await runScript({
  name: 'up (cluster)',
  description: 'form the cluster in the spec layout if needed (idempotent) and wait until it is fully healthy',
  lock: true,
  run: async ({ stack, notice }) => {
    const result = await formCluster(stack, await selectRuntime(stack, { notice }))
    const drift = describeDrift(result)
    if (drift) notice(drift)
    return result
  },
  render: (r) => {
    const what = { created: 'cluster created', completed: 'interrupted creation finished', existing: 'cluster already formed' }[r.action]
    return [...r.steps, `${what}; healthy: ${r.nodes} nodes, 16384 slots ok, replicas in sync (${(r.elapsedMs / 1000).toFixed(2)}s)`].join('\n')
  },
})
