#!/usr/bin/env tsx
import { describeSubject, runScript } from '@redis-cluster/core'
import { selectRuntime } from '@redis-cluster/compose'
import { addNode } from '../src/index.ts'

await runScript({
  name: 'cluster:add-node',
  description: 'add an empty node to the healthy cluster: a master (optionally rebalanced onto) or a replica of a named master',
  flags: {
    port: { type: 'string', description: 'local runtime: start the new node on this client port' },
    'bus-port': { type: 'string', description: 'its cluster-bus port (default port + 10000)' },
    node: { type: 'string', description: 'a running node to join instead: compose, a service declared with REDIS_ADDED; external, an empty node as HOST:PORT' },
    'replica-of': { type: 'string', description: 'add it as a replica of this master (name, host:port, index, port or node id)' },
    rebalance: { type: 'boolean', description: 'a new master: move its share of the slots onto it' },
    pipeline: { type: 'string', description: 'with --rebalance: keys per MIGRATE (default 1000)' },
  },
  lock: true,
  run: async ({ stack, args, progress, notice }) => {
    const runtime = await selectRuntime(stack, { notice })
    return addNode(stack, runtime, { ...args, busPort: args['bus-port'], replicaOf: args['replica-of'], progress, notice })
  },
  render: (r) => `${describeSubject({ name: r.node, host: r.host, port: r.port })} joined the cluster as ${r.replicaOf ? `a replica of ${r.replicaOf}` : 'a master'}${r.rebalanced ? `; rebalanced: ${r.rebalanced.slots} slots, ${r.rebalanced.keys} keys moved onto it` : ''}`,
})
