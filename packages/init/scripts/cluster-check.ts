#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { checkCluster, renderCheck } from '../src/index.ts'

await runScript({
  name: 'cluster:check',
  description:
    "one verdict on the cluster, from the health definition `up` and `status` use: slots covered, none open or claimed twice, replicas linked and caught up, no failing node, views and epochs agree; the spec's layout as a warning. Exit 0 healthy, 1 problems (each names its fix), 75 fewer than a majority of nodes answer, 78 password refused",
  run: ({ stack }) => checkCluster(stack),
  render: renderCheck,
  exitCode: (result) => (result.healthy ? 0 : 1),
})
