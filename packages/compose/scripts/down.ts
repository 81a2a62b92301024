#!/usr/bin/env tsx
import { createInterface } from 'node:readline/promises'
import { UsageError, runScript } from '@redis-cluster/core'
import { selectRuntime } from '../src/index.ts'

await runScript({
  name: 'down',
  description: 'stop the nodes cleanly (data is kept); --purge also deletes all cluster data',
  flags: {
    purge: { type: 'boolean', description: 'also delete every node\'s data (asks first)' },
    yes: { type: 'boolean', description: 'do not ask before --purge', short: 'y' },
  },
  // The stack lock; a running `up` is asked to stop, and `down` takes over.
  lock: 'preempt',
  run: async ({ stack, args, notice }) => {
    const runtime = await selectRuntime(stack, { notice })
    if (args.purge && !args.yes) await confirmPurge(runtime.name === 'local' ? stack.dataDir : `the volumes of compose project ${stack.projectName}`)
    return runtime.stop(stack, { purge: Boolean(args.purge) })
  },
  render: (r) => `${r.runtime}: ${r.stopped.length ? `stopped ${r.stopped.join(', ')}` : 'nothing was running'}${r.purged ? '; data deleted' : '; data kept'}`,
})

async function confirmPurge(where: string): Promise<void> {
  if (!process.stdin.isTTY) throw new UsageError('--purge deletes all cluster data and needs confirmation', 'add --yes to confirm')
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  const answer = await rl.question(`Delete all cluster data (${where})? Type "purge" to confirm: `)
  rl.close()
  if (answer.trim() !== 'purge') throw new UsageError('purge not confirmed; nothing was changed')
}
