import { formatBytes, renderTable } from '@redis-cluster/core'
import type { AofRewriteResult, AofRewriteRow } from './aof-rewrite.ts'

/** The table in the order the nodes ran, one verdict line, then each failed node with its fix. */
export function renderAofRewrite({ ok, nodes }: AofRewriteResult): string {
  const size = (bytes: number | undefined) => (bytes === undefined ? '-' : formatBytes(bytes))
  const rows = nodes.map((n) => [n.node, n.role ?? '-', size(n.beforeBytes), size(n.afterBytes), n.durationMs === undefined ? '-' : `${(n.durationMs / 1000).toFixed(2)}s`, describe(n)])
  const failed = nodes.filter((n) => n.result === 'failed')
  const rewritten = nodes.filter((n) => n.result === 'ok').length
  const verdict = ok ? `AOF rewritten on ${rewritten} of ${nodes.length} node(s)` : `AOF rewrite FAILED on ${failed.length} of ${nodes.length} node(s):`
  const details = failed.flatMap((n) => [`  - ${n.error}`, ...(n.hint ? [`    fix: ${n.hint}`] : [])])
  return [renderTable([['NODE', 'ROLE', 'BEFORE', 'AFTER', 'DURATION', 'RESULT'], ...rows]), verdict, ...details].join('\n')
}

function describe(n: AofRewriteRow): string {
  if (n.result === 'skipped') return 'skipped (appendonly no)'
  if (n.result === 'failed') return n.leftRunning ? 'FAILED (rewrite may still run)' : 'FAILED'
  return n.waitedFor ? `ok (waited ${((n.waitedMs ?? 0) / 1000).toFixed(1)}s for ${n.waitedFor})` : 'ok'
}
