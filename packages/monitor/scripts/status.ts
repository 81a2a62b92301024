#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { getStatus, renderStatus } from '../src/index.ts'

await runScript({
  name: 'status',
  description: 'one table of every node: role, master, slots, keys, memory, clients, link (exit 1 when not healthy)',
  run: ({ stack }) => getStatus(stack),
  render: renderStatus,
  exitCode: (status) => (status.ok ? 0 : 1),
})
