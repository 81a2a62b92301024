import { AsyncLocalStorage } from 'node:async_hooks'
import { armDeadline } from './_run-guard.ts'

/** What every wait inside one command run must respect: the run's deadline, and its abort signal (Ctrl-C, a preempting `down`). */
export interface RunContext {
  /** Epoch ms by which the whole run (or the step of it, withStepDeadline) must be done: RC_TIMEOUT_MS after it started. */
  readonly deadline: number
  readonly signal: AbortSignal
}

/**
 * Carried implicitly (AsyncLocalStorage) rather than threaded through every
 * library signature: runScript sets it once, and core's waits read it, so a
 * library function called outside a run simply has no outer deadline.
 */
const storage = new AsyncLocalStorage<RunContext>()

export function withRunContext<T>(context: RunContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(context, fn)
}

/**
 * Runs `fn` as one step of the run with a deadline of its own, `timeoutMs`
 * from now but never later than the run's: one drill of `chaos --all`, a run
 * with no overall deadline (runScript's `stepDeadlines`). As with the run's
 * deadline, core's waits stop at it with a precise message, and a step still
 * going after the grace is stopped (its signal aborts, with a TemporaryError
 * naming `name`); stopping the run (Ctrl-C) stops the step too.
 */
export async function withStepDeadline<T>(name: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const run = currentRun()
  const step = new AbortController()
  const disarm = armDeadline(step, name, timeoutMs)
  const signal = run ? AbortSignal.any([run.signal, step.signal]) : step.signal
  try {
    return await withRunContext({ deadline: Math.min(Date.now() + timeoutMs, run?.deadline ?? Infinity), signal }, fn)
  } catch (error) {
    // A stopped step rejects with why (an aborted sleep's AbortError says nothing).
    throw signal.aborted ? signal.reason : error
  } finally {
    disarm()
  }
}

export function currentRun(): RunContext | undefined {
  return storage.getStore()
}

/** Throws why the current run was stopped, if it was. */
export function throwIfStopped(): void {
  const signal = currentRun()?.signal
  if (signal?.aborted) throw signal.reason
}
