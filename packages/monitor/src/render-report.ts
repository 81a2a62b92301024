import { formatBytes, renderTable, UsageError, type FlagSpec } from '@redis-cluster/core'
import type { ClusterReport, NodeDown, NodeRow, NodeUp } from './report.ts'

/** Measured between two refreshes of `report:watch`, per node name. */
export type Rates = ReadonlyMap<string, { readonly opsPerSec: number; readonly keysPerSec: number }>

export interface RenderReportOptions {
  /** Fit every line into this many columns by hiding the least important columns (default 120). */
  width?: number
  /** Every column, whatever the width. */
  wide?: boolean
  /** From report:watch: OPS/S becomes the measured rate, and KEYS/S appears. */
  rates?: Rates
}

interface Column {
  readonly header: string
  /** Lower goes first when the table must shrink; 0: only with --wide. */
  readonly keep: number
  readonly cell: (n: NodeUp, rates: Rates | undefined) => string
}

const dash = '-'
const age = (seconds: number) => (seconds < 120 ? `${Math.round(seconds)}s` : seconds < 7200 ? `${Math.round(seconds / 60)}m` : seconds < 172800 ? `${Math.round(seconds / 3600)}h` : `${Math.round(seconds / 86400)}d`)
const rate = (value: number) => (value >= 100 || Number.isInteger(value) ? `${Math.round(value)}` : value.toFixed(1))

/** Which columns exist, in display order; SHARD, NODE and ROLE are always shown. */
const COLUMNS = (now: number): readonly Column[] => [
  { header: 'ADDRESS', keep: 0, cell: (n) => n.address },
  { header: 'MASTER', keep: 0, cell: (n) => n.master ?? dash },
  { header: 'SLOTS', keep: 0, cell: (n) => `${n.slotCount}` },
  { header: 'KEYS', keep: 10, cell: (n) => `${n.keys}` },
  { header: 'KEYS/S', keep: 9, cell: (n, r) => (r ? rate(r.get(n.node)?.keysPerSec ?? 0) : '') },
  { header: 'EXPIRY', keep: 5, cell: (n) => `${n.keysWithExpiry}` },
  { header: 'MEMORY', keep: 10, cell: (n) => formatBytes(n.usedMemory) },
  { header: 'PEAK', keep: 0, cell: (n) => formatBytes(n.peakMemory) },
  { header: 'MAXMEM', keep: 6, cell: (n) => (n.maxMemory ? formatBytes(n.maxMemory) : dash) },
  { header: 'FRAG', keep: 3, cell: (n) => n.fragmentation.toFixed(2) },
  { header: 'CONN', keep: 7, cell: (n) => `${n.clients}` },
  { header: 'BLOCKED', keep: 0, cell: (n) => `${n.blockedClients}` },
  { header: 'OPS/S', keep: 9, cell: (n, r) => rate(r ? (r.get(n.node)?.opsPerSec ?? 0) : n.opsPerSec) },
  { header: 'HIT%', keep: 4, cell: (n) => (n.hitRatio === null ? dash : (n.hitRatio * 100).toFixed(1)) },
  { header: 'EXPIRED', keep: 0, cell: (n) => `${n.expiredKeys}` },
  { header: 'EVICTED', keep: 2, cell: (n) => `${n.evictedKeys}` },
  { header: 'REJECTED', keep: 0, cell: (n) => `${n.rejectedConnections}` },
  { header: 'OFFSET', keep: 0, cell: (n) => `${n.replicationOffset}` },
  { header: 'LAG', keep: 8, cell: (n) => (n.role === 'master' ? dash : `${n.lagBytes === undefined ? '?' : formatBytes(n.lagBytes)}/${n.linkUp ? '' : 'down '}${n.lagSeconds}s`) },
  { header: 'RDB', keep: 8, cell: (n) => `${n.rdbLastSaveOk ? 'ok' : 'FAIL'} ${age(now - n.rdbLastSave)}` },
  { header: 'CHANGES', keep: 0, cell: (n) => `${n.rdbChangesSinceSave}` },
  { header: 'AOF', keep: 7, cell: (n) => (!n.aofEnabled ? 'off' : n.aofLastWriteOk && n.aofLastRewriteOk ? 'ok' : 'FAIL') },
  { header: 'AOF-SIZE', keep: 0, cell: (n) => (n.aofSize === undefined ? dash : formatBytes(n.aofSize)) },
]

/**
 * The report for people: one row per node grouped by shard, the shard and
 * cluster totals, then why each silent node is silent. Fits `width` columns
 * by hiding the least important columns and saying which (`--wide` shows all).
 */
export function renderReport(report: ClusterReport, { width = 120, wide = false, rates }: RenderReportOptions = {}): string {
  const now = Date.parse(report.at) / 1000
  let columns = COLUMNS(now).filter((c) => (wide || c.keep > 0) && (rates || c.header !== 'KEYS/S'))
  const hidden: string[] = []
  let table = tableOf(report, columns, rates)
  while (!wide && widest(table) > width && columns.length > 0) {
    const least = columns.reduce((a, b) => (b.keep < a.keep ? b : a))
    hidden.unshift(least.header)
    columns = columns.filter((c) => c !== least)
    table = tableOf(report, columns, rates)
  }
  const { totals } = report
  const lines = [
    table,
    ...report.shards.map((s) =>
      s.shard === '?'
        ? // a master that failed and lost its slots is listed by no shard, and without a spec layout (an external cluster) nothing says whose it was
          `in no known shard: ${s.nodes.join(', ')} (${s.nodesUp}/${s.nodes.length} up)`
        : `shard ${s.shard}: ${s.master ? `master ${s.master}` : 'no master known'}, ${s.nodesUp}/${s.nodes.length} up, ${s.keys} keys, ${formatBytes(s.usedMemory)}, ${s.opsPerSec} ops/s, replica lag up to ${formatBytes(s.maxLagBytes)}`,
    ),
    `cluster: ${totals.nodesUp}/${totals.nodes} nodes up, ${totals.keys} keys (${totals.keysWithExpiry} with expiry), ${formatBytes(totals.usedMemory)} used, ${totals.opsPerSec} ops/s, ${totals.clients} clients, ${totals.expiredKeys} expired, ${totals.evictedKeys} evicted, ${totals.rejectedConnections} rejected`,
    ...report.nodes.filter((n): n is NodeDown => !n.up).map((n) => `${n.node}: ${n.error}`),
    ...(report.complete ? [] : ['report INCOMPLETE: not every node answered']),
    ...(hidden.length ? [`hidden to fit ${width} columns: ${hidden.join(', ')} (--wide shows every column)`] : []),
  ]
  return lines.flatMap((line) => (wide ? [line] : wrap(line, width))).join('\n')
}

function tableOf(report: ClusterReport, columns: readonly Column[], rates: Rates | undefined): string {
  const header = ['SHARD', 'NODE', 'ROLE', ...columns.map((c) => c.header)]
  const row = (n: NodeRow, first: boolean) => [first ? n.shard : '', n.node, ...(n.up ? [n.role, ...columns.map((c) => c.cell(n, rates))] : [`down`, ...columns.map(() => dash)])]
  const rows = report.shards.flatMap((s) => report.nodes.filter((n) => n.shard === s.shard).map((n, i) => row(n, i === 0)))
  return renderTable([header, ...rows])
}

const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length))

/** Breaks a long line at spaces into lines of at most `width`, continued lines indented. */
function wrap(line: string, width: number): string[] {
  if (line.includes('\n')) return line.split('\n').flatMap((l) => wrap(l, width))
  const out: string[] = []
  let rest = line
  while (rest.length > width) {
    const at = rest.lastIndexOf(' ', width)
    const cut = at > 4 ? at : width
    out.push(rest.slice(0, cut))
    rest = `    ${rest.slice(cut).trimStart()}`
  }
  return [...out, rest]
}

/** The flags of every command that prints the report table (report, report:watch). */
export const TABLE_FLAGS = {
  wide: { type: 'boolean', description: 'every column (default: what fits --width)' },
  width: { type: 'string', description: 'fit the table into N columns (default: the terminal width, at most 120)' },
} satisfies Record<string, FlagSpec>

/** The table's width: `--width N`, else the terminal's (stdout a terminal), at most 120 (the width a cron mail or a log keeps). */
export function tableWidth(flag: string | undefined, terminalColumns: number | undefined): number {
  if (flag === undefined) return Math.min(120, terminalColumns || 120)
  if (!/^[1-9][0-9]*$/.test(flag) || Number(flag) < 40) throw new UsageError(`--width ${flag}: expected a whole number of columns, at least 40`, 'e.g. --width 100, or --wide for every column')
  return Number(flag)
}
