#!/usr/bin/env tsx
import { runScript, UsageError } from '@redis-cluster/core'
import { collectReport, renderReport, renderReportProm, tableWidth, TABLE_FLAGS, writeReportFiles, type RenderReportOptions } from '../src/index.ts'

// How to render is known once the flags are parsed; runScript renders after run.
let view: RenderReportOptions & { prom?: boolean } = {}

await runScript({
  name: 'report',
  description: 'per-node report: keys, memory, clients, ops, hit ratio, replication lag, persistence; per shard and cluster totals (exit 1 when a node did not answer)',
  flags: {
    ...TABLE_FLAGS,
    prom: { type: 'boolean', description: 'print Prometheus text exposition format instead of the table' },
    html: { type: 'string', description: 'also write a self-contained HTML page (tables and charts) to this file' },
    textfile: { type: 'string', description: 'also write redis_cluster.prom into this directory for node_exporter (atomically; for cron)' },
  },
  run: async ({ stack, args }) => {
    if (args.prom && args.json) throw new UsageError('--prom and --json both choose the output', 'give one of them')
    view = { prom: args.prom, wide: args.wide, width: tableWidth(args.width, process.stdout.columns) }
    const report = await collectReport(stack)
    await writeReportFiles(report, { html: args.html, textfile: args.textfile })
    return report
  },
  render: (report) => (view.prom ? renderReportProm(report).trimEnd() : renderReport(report, view)),
  exitCode: (report) => (report.complete ? 0 : 1),
})
