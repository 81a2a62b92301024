#!/usr/bin/env tsx
import { UsageError, runScript } from '@redis-cluster/core'
import { selectRuntime } from '@redis-cluster/compose'
import { SCENARIO_LIST, pickScenarios, renderDrills, runDrills } from '../src/index.ts'

await runScript({
  name: 'chaos',
  description: `fault drills under a live writer: recovery times and lost acknowledged writes (exit 1 when an expectation fails)\n\n${SCENARIO_LIST.map((s) => `  ${s.name.padEnd(19)} ${s.summary}`).join('\n')}`,
  positionals: 'SCENARIO',
  flags: {
    all: { type: 'boolean', description: 'run every scenario, one after another' },
    'wait-replicas': { type: 'boolean', description: 'each write also WAIT 1 500 on its master: acknowledged = on a replica too' },
    'pause-ms': { type: 'string', description: 'pause-master-short: pause the master this long (default a quarter of the node timeout)' },
    'i-know-this-is-destructive': { type: 'boolean', description: 'drill nodes this toolkit did not start (only the scenarios whose faults the runtime can inject)' },
  },
  lock: true,
  // Each drill gets RC_TIMEOUT_MS of its own (runDrills), not a share of one deadline for all seven.
  stepDeadlines: true,
  // Ctrl-C mid-drill: the drill restarts and resumes nodes and restores the layout before the command exits.
  settleOnStopMs: 60_000,
  run: async ({ stack, args, positionals, progress, notice }) => {
    const scenarios = pickScenarios(positionals, { all: Boolean(args.all) })
    const pauseMs = args['pause-ms'] === undefined ? undefined : Number(args['pause-ms'])
    if (pauseMs !== undefined && !(Number.isInteger(pauseMs) && pauseMs > 0)) throw new UsageError(`--pause-ms '${args['pause-ms']}' is not a whole number of milliseconds`, 'e.g. --pause-ms 400')
    const runtime = await selectRuntime(stack, { notice })
    return runDrills(stack, runtime, scenarios, { waitReplicas: args['wait-replicas'], pauseMs, destructive: args['i-know-this-is-destructive'], progress })
  },
  render: renderDrills,
  exitCode: (result) => (result.ok ? 0 : 1),
})
