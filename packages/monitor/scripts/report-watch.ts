#!/usr/bin/env tsx
import { runScript, UsageError } from '@redis-cluster/core'
import { renderReport, tableWidth, TABLE_FLAGS, watchReport } from '../src/index.ts'

// Alternate screen and hidden cursor while drawing; restored however the run ends.
const ENTER = '\x1b[?1049h\x1b[?25l'
const LEAVE = '\x1b[?25h\x1b[?1049l'
const HOME = '\x1b[H\x1b[2J'

await runScript({
  name: 'report:watch',
  description: 'redraws the report every --interval seconds, with ops/s and keys/s measured between refreshes, until Ctrl-C',
  flags: {
    interval: { type: 'string', description: 'seconds between refreshes (default 2; fractions allowed, at least 0.2)' },
    ...TABLE_FLAGS,
  },
  endless: true,
  run: async ({ stack, args, signal }) => {
    if (args.json) throw new UsageError('report:watch draws for people; --json is not one of its outputs', 'use `pnpm report --json`, e.g. from cron or a loop')
    const interval = Number(args.interval ?? 2)
    if (!(interval >= 0.2) || !/^\d+(\.\d+)?$/.test(args.interval ?? '2')) throw new UsageError(`--interval ${args.interval}: expected seconds, at least 0.2`, 'e.g. --interval 5')
    const tty = Boolean(process.stdout.isTTY)
    if (tty) process.stdout.write(ENTER)
    try {
      return await watchReport(stack, {
        intervalMs: interval * 1000,
        signal,
        onFrame: (report, rates) => {
          const width = tableWidth(args.width, process.stdout.columns)
          const title = `report:watch every ${interval}s (Ctrl-C to stop) · ${report.at}${rates ? '' : ' · rates from the next refresh'}`
          process.stdout.write(`${tty ? HOME : ''}${title}\n${renderReport(report, { width, wide: args.wide, rates })}\n${tty ? '' : '\n'}`)
        },
      })
    } finally {
      if (tty) process.stdout.write(LEAVE)
    }
  },
  exitCode: () => 0,
})
