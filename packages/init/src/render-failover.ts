import type { FailoverResult, RestoreLayoutResult } from './failover.ts'

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`

/** One line: who is master now, how long it took, and whether health could be waited for. */
export function renderFailover(result: FailoverResult | RestoreLayoutResult): string {
  if ('swapped' in result) {
    if (!result.specLayout) return 'no spec layout to restore: the nodes were read from the cluster, whose layout is its own; fail a pair over by name instead (`pnpm cluster:failover HOST:PORT`)'
    if (result.swapped.length === 0 && result.remaining.length === 0) return 'layout already matches the spec: nothing to do'
    const done = result.swapped.length === 0 ? 'no pair to swap back' : `layout restored: ${result.swapped.join(', ')} master again; cluster healthy (${seconds(result.elapsedMs)})`
    return [done, ...result.remaining.map((d) => `still differs from the spec (no failover undoes it): ${d}`)].join('\n')
  }
  const how = result.mode === 'default' ? 'failover' : `${result.mode} failover`
  const after = result.healthy ? 'cluster healthy' : 'not every node answers: run `pnpm cluster:check`'
  return `${how}: ${result.promoted} is master in place of ${result.demoted}; ${after} (${seconds(result.elapsedMs)})`
}
