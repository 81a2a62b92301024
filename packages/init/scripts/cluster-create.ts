#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { createFromSeeds, renderCreateFromSeeds } from '../src/index.ts'

// Exit codes: 0 formed and healthy; 2 malformed --seeds / flags or a placement that cannot keep every
// replica off its master's host; 75 a node does not answer; 78 a node refuses the password or runs
// without cluster mode; 1 a node is not empty (in a cluster, owns slots, holds keys).
await runScript({
  name: 'cluster:create',
  description: "form one cluster from empty standalone nodes on several hosts, no replica on its master's host; prints the .env lines (RC_RUNTIME=external, RC_SEEDS) that operate it",
  flags: {
    seeds: { type: 'string', description: 'ip:port of every node, comma-separated (the address part says which nodes share a host)' },
    masters: { type: 'string', description: 'how many masters (default: nodes / (1 + replicas))' },
    replicas: { type: 'string', description: 'replicas per master, at least (default 1); nodes left over become extra replicas' },
  },
  lock: true,
  // its nodes come from --seeds and form no cluster yet: RC_SEEDS (if set) is not read
  discover: false,
  run: ({ stack, args, progress }) => createFromSeeds(stack, { ...args, progress }),
  render: renderCreateFromSeeds,
})
