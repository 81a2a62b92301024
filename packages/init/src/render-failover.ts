import type { FailoverResult } from './failover.ts'

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`

/** One line: who is master now, how long it took, and whether health could be waited for. */
export function renderFailover(result: FailoverResult | { swapped: readonly string[]; elapsedMs: number }): string {
  if ('swapped' in result) {
    return result.swapped.length === 0 ? 'layout already matches the spec: nothing to do' : `layout restored: ${result.swapped.join(', ')} master again; cluster healthy (${seconds(result.elapsedMs)})`
  }
  const how = result.mode === 'default' ? 'failover' : `${result.mode} failover`
  const after = result.healthy ? 'cluster healthy' : 'not every node answers: run `pnpm cluster:check`'
  return `${how}: ${result.promoted} is master in place of ${result.demoted}; ${after} (${seconds(result.elapsedMs)})`
}
