import type { Options } from 'zx'
import { currentRun } from './run-context.ts'

/**
 * zx, loaded on first use. Importing it costs ~80 ms, and most runs (status,
 * an `up` on a running stack) never start a process; the bundler puts it in
 * its own chunk so those runs never load it.
 */
export const loadZx = () => import('zx')

/**
 * zx's `$` bound to the current run (see run-context): a child still running
 * at the run's deadline, or when the run is stopped (Ctrl-C, a preempting
 * `down`), is killed with it instead of outliving us (a stuck `docker` call,
 * a redis-cli waiting on a paused node). Outside a run it is plain `$`.
 */
export async function runShell(options: Partial<Options> & { timeout?: number } = {}) {
  const { $ } = await loadZx()
  const run = currentRun()
  if (!run) return $(options)
  const remaining = Math.max(1, run.deadline - Date.now())
  const timeout = Math.min(options.timeout ?? remaining, remaining)
  // A run without a deadline (report:watch, chaos outside a drill) has Infinity left; a timer cannot take that.
  return $({ ...options, ...(Number.isFinite(timeout) ? { timeout } : {}), signal: run.signal })
}
