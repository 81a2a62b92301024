import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { takeStackLock } from './lock.ts'
import { BusyError } from './errors.ts'

const LOCK_MODULE = fileURLToPath(new URL('./lock.ts', import.meta.url))

/** A child process that takes the lock, says so on stdout, and holds it until killed. */
function holdInChild(key: string): Promise<{ pid: number; kill: (signal: NodeJS.Signals) => Promise<void> }> {
  const code = `import { takeStackLock } from ${JSON.stringify(LOCK_MODULE)}
await takeStackLock(${JSON.stringify(key)}, { command: 'holder' }); console.log('held'); setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.stdout.once('data', () =>
      resolve({
        pid: child.pid!,
        kill: (signal) => new Promise((done) => (child.exitCode !== null || child.signalCode ? done() : (child.once('exit', () => done()), child.kill(signal)))),
      }),
    )
  })
}

describe('takeStackLock()', () => {
  it('works and releases', async () => {
    const key = randomUUID()
    ;(await takeStackLock(key, { command: 'a' })).release()
    ;(await takeStackLock(key, { command: 'b' })).release()
  })

  it('refuses a second holder at once with BusyError (exit 75) naming the holder', async () => {
    const key = randomUUID()
    const lock = await takeStackLock(key, { command: 'up' })
    try {
      const error = await takeStackLock(key, { command: 'down' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(BusyError)
      expect(error).toMatchObject({ exitCode: 75, message: expect.stringMatching(new RegExp(`locked by up \\(pid ${process.pid}, running since \\d{4}-`)) })
    } finally {
      lock.release()
    }
  })

  it('is free the moment its holder is killed with SIGKILL', async () => {
    const key = randomUUID()
    const holder = await holdInChild(key)
    const busy = await takeStackLock(key, { command: 'second' }).catch((e: unknown) => e)
    expect(busy).toMatchObject({ message: expect.stringContaining(`holder (pid ${holder.pid}`) })
    await holder.kill('SIGKILL')
    ;(await takeStackLock(key, { command: 'after' })).release()
  })

  it('lets exactly one of many concurrent takers win', async () => {
    const key = randomUUID()
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => takeStackLock(key, { command: `run-${i}` })))
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof BusyError)).toBe(true)
    ;(won[0] as PromiseFulfilledResult<{ release(): void }>).value.release()
  })

  it('preempt asks the holder to stop and takes the lock once it let go', async () => {
    const key = randomUUID()
    let preemptedBy: string | undefined
    const holder = await takeStackLock(key, {
      command: 'up',
      onPreempted: (by) => {
        preemptedBy = by.command
        setTimeout(() => holder.release(), 100)
      },
    })
    const lock = await takeStackLock(key, { command: 'down', preempt: true, preemptTimeoutMs: 5000 })
    expect(preemptedBy).toBe('down')
    lock.release()
  })

  it('preempt gives up with BusyError when the holder does not let go', async () => {
    const key = randomUUID()
    const holder = await takeStackLock(key, { command: 'stuck' })
    try {
      await expect(takeStackLock(key, { command: 'down', preempt: true, preemptTimeoutMs: 300 })).rejects.toThrow(/locked by stuck .*did not stop in time|locked by stuck/)
    } finally {
      holder.release()
    }
  })
})
