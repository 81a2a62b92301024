#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { selectRuntime } from '../src/index.ts'

await runScript({
  name: 'up (nodes)',
  description: 'start the six nodes of the stack (idempotent); `pnpm run up` then forms the cluster',
  lock: true,
  run: async ({ stack, progress, notice }) => (await selectRuntime(stack, { notice })).start(stack, { progress }),
  render: (r) =>
    r.started.length === 0 ? `${r.runtime}: all ${r.alreadyRunning.length} nodes already running` : `${r.runtime}: started ${r.started.join(', ')}`,
})
