import { setTimeout as sleep } from 'node:timers/promises'
import { RcError, TemporaryError } from './errors.ts'

export interface WaitForOptions {
  timeoutMs: number
  intervalMs?: number
  /** What we are waiting for, for the timeout message: "cluster_state:ok on all nodes". */
  what: string
  hint?: string
}

/**
 * Polls `probe` until it returns `true`, or throws TemporaryError at the
 * deadline. A probe returns a string to explain why it is not ready yet; the
 * last reason goes into the timeout message so the user sees which node
 * is stuck and why. A probe that throws a non-temporary RcError (a node that
 * died, a wrong password) ends the wait at once: waiting will not fix it.
 */
export async function waitFor(probe: () => Promise<true | string>, { timeoutMs, intervalMs = 50, what, hint }: WaitForOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let reason = 'not checked yet'
  for (;;) {
    try {
      const result = await probe()
      if (result === true) return
      reason = result
    } catch (error) {
      if (error instanceof RcError && !(error instanceof TemporaryError)) throw error
      reason = (error as Error).message
    }
    if (Date.now() >= deadline) {
      throw new TemporaryError(`timed out after ${(timeoutMs / 1000).toFixed(1)}s waiting for ${what}: ${reason}`, hint)
    }
    await sleep(intervalMs)
  }
}
