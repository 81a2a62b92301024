import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { takeLock } from './lock.ts'
import { BusyError } from './errors.ts'

describe('takeLock()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rc-lock-'))
  afterEach(() => rmSync(join(dir, 'job.lock'), { force: true }))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('works and releases', () => {
    const lock = takeLock(dir, 'job')
    lock.release()
    takeLock(dir, 'job').release()
  })

  it('refuses a second holder with BusyError (exit 75)', () => {
    const lock = takeLock(dir, 'job')
    try {
      expect(() => takeLock(dir, 'job')).toThrow(BusyError)
      expect(() => takeLock(dir, 'job')).toThrow(expect.objectContaining({ exitCode: 75 }))
    } finally {
      lock.release()
    }
  })

  it('takes over a lock whose process is gone', () => {
    writeFileSync(join(dir, 'job.lock'), '999999999\n')
    takeLock(dir, 'job').release()
  })
})
