#!/usr/bin/env tsx
import { UsageError, runScript } from '@redis-cluster/core'
import { failoverNode, renderFailover, restoreLayout } from '../src/index.ts'

await runScript({
  name: 'cluster:failover',
  description:
    'planned failover: <node> names a master (its replica takes over) or a replica (it takes over from its master), by name, host:port, index, port or id; CLUSTER FAILOVER on the replica, then waits until the roles swapped and the cluster is healthy. --restore-layout puts the masters back on the spec nodes instead (exit 1 when drift remains that no failover undoes; a cluster read from its seeds has no spec layout: says so, exit 0). Exit 75 when a node it needs does not answer',
  positionals: '<node> | --restore-layout',
  flags: {
    'restore-layout': { type: 'boolean', description: "put masters back on the spec's nodes (CLUSTER FAILOVER on each spec master that is now a replica)" },
    force: { type: 'boolean', description: 'promote without the master (it is down): writes it has not replicated are lost' },
    takeover: { type: 'boolean', description: 'promote without the master and without a vote of the other masters (last resort: no majority)' },
  },
  lock: true,
  run: async ({ stack, args, positionals, progress }) => {
    if (args['restore-layout']) {
      if (positionals.length > 0 || args.force || args.takeover) throw new UsageError('--restore-layout takes no node, --force or --takeover', 'run `pnpm cluster:failover --restore-layout` alone')
      return restoreLayout(stack, { progress })
    }
    if (positionals.length !== 1) throw new UsageError('name one node to fail over, or pass --restore-layout', `e.g. \`pnpm cluster:failover ${stack.nodes[0]!.name}\``)
    if (args.force && args.takeover) throw new UsageError('--force and --takeover exclude each other', 'use --force; --takeover only without a majority of masters')
    return failoverNode(stack, positionals[0]!, { mode: args.takeover ? 'takeover' : args.force ? 'force' : 'default', progress })
  },
  render: renderFailover,
  exitCode: (result) => ('remaining' in result && result.remaining.length > 0 ? 1 : 0),
})
