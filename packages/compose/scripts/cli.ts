#!/usr/bin/env tsx
import { UsageError, runScript } from '@redis-cluster/core'
import { selectRuntime } from '../src/index.ts'

await runScript({
  name: 'cli',
  description: 'run redis-cli where the nodes are reachable (inside a node container for compose), authenticated, password never in argv',
  positionals: '<redis-cli arguments...>   e.g. -- -p 6379 cluster info',
  run: async ({ stack, positionals, notice }) => {
    if (positionals.length === 0) throw new UsageError('no redis-cli arguments given', 'e.g. `pnpm cli -- -p 6379 cluster info`')
    return (await selectRuntime(stack, { notice })).redisCli(stack, positionals)
  },
  render: (output) => output.trimEnd(),
})
