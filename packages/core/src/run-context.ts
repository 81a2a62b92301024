import { AsyncLocalStorage } from 'node:async_hooks'

/** What every wait inside one command run must respect: the run's deadline, and its abort signal (Ctrl-C, a preempting `down`). */
export interface RunContext {
  /** Epoch ms by which the whole run must be done (RC_TIMEOUT_MS after it started). */
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

export function currentRun(): RunContext | undefined {
  return storage.getStore()
}

/** Throws why the current run was stopped, if it was. */
export function throwIfStopped(): void {
  const signal = currentRun()?.signal
  if (signal?.aborted) throw signal.reason
}
