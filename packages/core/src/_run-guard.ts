import { InterruptedError, TemporaryError } from './errors.ts'
import { isAlive, procStat } from './process-state.ts'

/** Grace after the run's deadline for waits, which stop at the deadline with a precise message, before the run is cut off. */
const DEADLINE_GRACE_MS = 2000

/**
 * Arms what may stop a run: its overall deadline, Ctrl-C/SIGTERM, and (for
 * runs that change the stack) the death of the commands that started it.
 * A `pnpm run up` whose pnpm is killed leaves its node child running; an
 * orphaned run must not go on changing the cluster behind the user's back.
 * Returns the disarm function.
 */
export function guardRun(stop: AbortController, { name, timeoutMs, watchAncestors }: { name: string; timeoutMs: number; watchAncestors: boolean }): () => void {
  const disarmDeadline = armDeadline(stop, name, timeoutMs)
  const onSignal = (signal: NodeJS.Signals) =>
    stop.abort(new InterruptedError(`stopped by ${signal === 'SIGINT' ? 'Ctrl-C' : signal}`, 'run the command again: it finishes what was started'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const ancestors = watchAncestors ? [process.ppid, procStat(process.ppid)?.ppid].filter((pid): pid is number => pid !== undefined && pid > 1) : []
  const watcher = ancestors.length
    ? setInterval(() => {
        const gone = process.ppid !== ancestors[0] ? ancestors[0] : ancestors.find((pid) => !isAlive(pid))
        if (gone !== undefined) stop.abort(new InterruptedError(`stopped: the command that started this run (pid ${gone}) is gone`))
      }, 500).unref()
    : undefined
  return () => {
    disarmDeadline()
    clearInterval(watcher)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * Aborts `stop` with a TemporaryError naming `name` once `timeoutMs` and the
 * grace passed: the deadline of a run, or of one step of it (withStepDeadline).
 * Returns the disarm function.
 */
export function armDeadline(stop: AbortController, name: string, timeoutMs: number): () => void {
  // An endless run (Infinity) has no overall deadline; setTimeout would fire at once on it.
  if (!Number.isFinite(timeoutMs)) return () => {}
  const timer = setTimeout(
    () => stop.abort(new TemporaryError(`${name} did not finish within ${timeoutMs / 1000}s (RC_TIMEOUT_MS)`, 'find what is stuck with `pnpm status`, or raise RC_TIMEOUT_MS')),
    timeoutMs + DEADLINE_GRACE_MS,
  ).unref()
  return () => clearTimeout(timer)
}

/**
 * Resolves as `work` does, or rejects with the stop's reason as soon as the
 * run is stopped; with `settleMs`, only after `work` ended or that long
 * passed, so a run that puts things back when stopped (a chaos drill) still
 * holds the lock and the process while it does.
 */
export function untilStopped<T>(work: Promise<T>, signal: AbortSignal, settleMs = 0): Promise<T> {
  if (signal.aborted && !settleMs) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      if (!settleMs) return reject(signal.reason)
      const timer = setTimeout(() => reject(signal.reason), settleMs)
      work.catch(() => {}).finally(() => (clearTimeout(timer), reject(signal.reason)))
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    work.then((value) => (signal.aborted ? undefined : resolve(value)), (error) => (signal.aborted && settleMs ? undefined : reject(error))).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
