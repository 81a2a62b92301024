import { setTimeout as sleep } from 'node:timers/promises'
import { RcError, TemporaryError } from './errors.ts'
import { currentRun } from './run-context.ts'

export interface WaitForOptions {
  timeoutMs: number
  intervalMs?: number
  /** What we are waiting for, for the timeout message: "cluster_state:ok on all nodes". */
  what: string
  hint?: string
}

/**
 * Polls `probe` until it returns `true`, or throws TemporaryError at the
 * deadline: `timeoutMs`, or the current run's deadline if that comes first.
 * A probe returns a string to explain why it is not ready yet; the last
 * reason goes into the timeout message so the user sees which node is stuck
 * and why. A probe that throws a non-temporary RcError (a node that died, a
 * wrong password) ends the wait at once: waiting will not fix it. A stopped
 * run (Ctrl-C, a preempting `down`) ends it too, with the stop's reason.
 */
export async function waitFor(probe: () => Promise<true | string>, { timeoutMs, intervalMs = 50, what, hint }: WaitForOptions): Promise<void> {
  const run = currentRun()
  const started = Date.now()
  const deadline = Math.min(started + timeoutMs, run?.deadline ?? Infinity)
  let reason = 'not checked yet'
  for (;;) {
    if (run?.signal.aborted) throw run.signal.reason
    try {
      const result = await probe()
      if (result === true) return
      reason = result
    } catch (error) {
      if (error instanceof RcError && !(error instanceof TemporaryError)) throw error
      reason = (error as Error).message
    }
    if (Date.now() >= deadline) {
      throw new TemporaryError(`timed out after ${((Date.now() - started) / 1000).toFixed(1)}s waiting for ${what}: ${reason}`, hint)
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), undefined, { signal: run?.signal }).catch(() => {})
  }
}
