#!/usr/bin/env tsx
import { applyAclEverywhere, describeDrift, runScript } from '@redis-cluster/core'
import { selectRuntime } from '@redis-cluster/compose'
import { formCluster, awaitCluster } from '../src/index.ts'

await runScript({
  name: 'up',
  description: "start the stack's nodes and form the cluster in the spec layout if needed (both idempotent), then wait until it is fully healthy; external runtime: starts and forms nothing, only waits",
  // One stack lock over both steps: nobody changes the stack between them.
  lock: true,
  run: async ({ stack, progress, notice }) => {
    const runtime = await selectRuntime(stack, { notice })
    const start = await runtime.start(stack, { progress })
    // nodes someone else runs (external) are neither started nor formed here: `up` only waits for them
    const formed = runtime.ownsNodes ? await formCluster(stack, runtime) : await awaitCluster(stack)
    const drift = describeDrift(formed)
    if (drift) notice(drift)
    // Nodes started now loaded the ACL file; running ones get the secrets' ACL applied (a user added, a key pattern changed).
    const aclChanged = runtime.ownsNodes ? await applyAclEverywhere(stack) : []
    return { ...start, ...formed, aclChanged }
  },
  render: (r) => {
    const nodes =
      r.runtime === 'external' ? `external: starts nothing (the ${r.alreadyRunning.length} nodes run elsewhere); waited for the cluster` : r.started.length === 0 ? `${r.runtime}: all ${r.alreadyRunning.length} nodes already running` : `${r.runtime}: started ${r.started.join(', ')}`
    const what = { created: 'cluster created', completed: 'interrupted creation finished', existing: 'cluster already formed' }[r.action]
    const acl = r.aclChanged.length > 0 ? [`ACL users re-applied and saved on ${r.aclChanged.join(', ')}`] : []
    return [nodes, ...r.steps, ...acl, `${what}; healthy: ${r.nodes} nodes, 16384 slots ok, replicas in sync (${(r.elapsedMs / 1000).toFixed(2)}s)`].join('\n')
  },
})
