import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeFileAtomic } from './atomic-write.ts'

describe('writeFileAtomic()', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rc-atomic-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('replaces the file whole and leaves no temp file', async () => {
    writeFileSync(join(dir, 'm.prom'), 'old\n')
    await writeFileAtomic(join(dir, 'm.prom'), 'new\n')
    expect(readFileSync(join(dir, 'm.prom'), 'utf8')).toBe('new\n')
    expect(readdirSync(dir)).toEqual(['m.prom'])
  })

  it('keeps the old file when the new one cannot be written, and names the target in the error', async () => {
    writeFileSync(join(dir, 'm.prom'), 'old\n')
    execFileSync('chattr', ['+i', dir])
    try {
      await expect(writeFileAtomic(join(dir, 'm.prom'), 'new\n')).rejects.toMatchObject({ code: 'EPERM', path: join(dir, 'm.prom'), syscall: 'write' })
    } finally {
      execFileSync('chattr', ['-i', dir])
    }
    expect(readFileSync(join(dir, 'm.prom'), 'utf8')).toBe('old\n')
    expect(readdirSync(dir)).toEqual(['m.prom'])
  })
})
