import { describe, expect, it } from 'vitest'
import { runShell } from './zx.ts'
import { withRunContext } from './run-context.ts'

describe('runShell()', () => {
  it('works: plain $ outside a run', async () => {
    expect((await (await runShell({ quiet: true }))`echo hi`).stdout).toBe('hi\n')
  })

  it('kills a child still running at the run deadline', async () => {
    const out = await withRunContext({ deadline: Date.now() + 300, signal: new AbortController().signal }, async () => (await runShell({ quiet: true, nothrow: true }))`sleep 30`)
    expect(out.exitCode).toBeNull()
    expect(out.signal).toBe('SIGTERM')
  }, 5000)

  it('kills a child when the run is stopped', async () => {
    const stop = new AbortController()
    setTimeout(() => stop.abort(new Error('stopped')), 200)
    const out = withRunContext({ deadline: Date.now() + 60_000, signal: stop.signal }, async () => (await runShell({ quiet: true, nothrow: true }))`sleep 30`)
    await expect(out.then((o) => o.exitCode, () => 'rejected')).resolves.not.toBe(0)
  }, 5000)

  it('runs a child in a run without a deadline (no timer warning)', async () => {
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.name)
    process.on('warning', onWarning)
    try {
      const out = await withRunContext({ deadline: Infinity, signal: new AbortController().signal }, async () => (await runShell({ quiet: true }))`echo hi`)
      expect(out.stdout).toBe('hi\n')
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).not.toContain('TimeoutOverflowWarning')
    } finally {
      process.off('warning', onWarning)
    }
  })
})
