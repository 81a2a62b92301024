import { describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { untilStopped } from './_run-guard.ts'

describe('untilStopped', () => {
  it('rejects at once with the stop reason by default, before the work ends', async () => {
    const stop = new AbortController()
    let ended = false
    const work = sleep(300).then(() => (ended = true))
    const waiting = untilStopped(work, stop.signal)
    stop.abort(new Error('stopped'))
    await expect(waiting).rejects.toThrow('stopped')
    expect(ended).toBe(false)
  })

  it('with settleMs, waits for the work to put things back, then rejects with the stop reason', async () => {
    const stop = new AbortController()
    let ended = false
    const work = sleep(100).then(() => (ended = true))
    const waiting = untilStopped(work, stop.signal, 5000)
    stop.abort(new Error('stopped'))
    await expect(waiting).rejects.toThrow('stopped')
    expect(ended).toBe(true)
  })

  it('with settleMs, gives up on work that does not end in time', async () => {
    const stop = new AbortController()
    const waiting = untilStopped(new Promise(() => {}), stop.signal, 50)
    stop.abort(new Error('stopped'))
    await expect(waiting).rejects.toThrow('stopped')
  })
})
