import { describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { currentRun, withRunContext, withStepDeadline } from './run-context.ts'
import { InterruptedError, TemporaryError } from './errors.ts'
import { waitFor } from './wait.ts'

/** A run with no overall deadline, as runScript's `stepDeadlines` starts one. */
const inStepsRun = <T>(fn: () => Promise<T>, signal = new AbortController().signal) => withRunContext({ deadline: Infinity, signal }, fn)
const never = async () => 'not yet'

describe('withStepDeadline', () => {
  it("bounds a step's waits by its own deadline in a run that has none", async () => {
    const step = inStepsRun(() => withStepDeadline('the kill-master drill', 100, () => waitFor(never, { timeoutMs: 60_000, intervalMs: 10, what: 'the replica to take over' })))
    await expect(step).rejects.toThrow(/^timed out after \d+\.\ds waiting for the replica to take over: not yet$/)
  })

  it('gives each step its own deadline: two steps together may take longer than one', async () => {
    // Each step waits until more than half its deadline passed; the probe runs before the deadline check, so this cannot time out.
    const halfway = () => {
      const until = Date.now() + 600
      return waitFor(async () => Date.now() >= until || 'not yet', { timeoutMs: 60_000, intervalMs: 20, what: 'halfway' })
    }
    await expect(inStepsRun(async () => [await withStepDeadline('first', 1000, halfway), await withStepDeadline('second', 1000, halfway)])).resolves.toHaveLength(2)
  })

  it("is never later than the run's own deadline", async () => {
    const outer = Date.now() + 5000
    const inner = await withRunContext({ deadline: outer, signal: new AbortController().signal }, () => withStepDeadline('step', 60_000, async () => currentRun()!.deadline))
    expect(inner).toBe(outer)
  })

  it('stops a step that ignores its deadline, with a TemporaryError naming it', async () => {
    const step = inStepsRun(() => withStepDeadline('the pause-master-short drill', 10, () => sleep(60_000, undefined, { signal: currentRun()!.signal })))
    await expect(step).rejects.toThrow(TemporaryError)
    await expect(step).rejects.toThrow('the pause-master-short drill did not finish within 0.01s (RC_TIMEOUT_MS)')
  })

  it('stops the step when the run is stopped (Ctrl-C), with the run\'s reason', async () => {
    const stop = new AbortController()
    const step = inStepsRun(() => withStepDeadline('step', 60_000, () => sleep(60_000, undefined, { signal: currentRun()!.signal })), stop.signal)
    stop.abort(new InterruptedError('stopped by Ctrl-C'))
    await expect(step).rejects.toThrow(InterruptedError)
  })
})
