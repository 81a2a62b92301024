import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, TemporaryError } from './errors.ts'
import { describeFsError } from './fs-errors.ts'

/** The error a real fs call throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}

describe('describeFsError()', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rc-fs-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('names the file that stands where a directory belongs (ENOTDIR → 78)', () => {
    writeFileSync(join(dir, 'data'), '')
    const error = describeFsError(thrown(() => mkdirSync(join(dir, 'data', 'redis-node-0'), { recursive: true })), { otherwise: 'point RC_DATA_DIR elsewhere' })
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toBe(`cannot create ${join(dir, 'data', 'redis-node-0')}: ${join(dir, 'data')} is a file, not a directory`)
    expect((error as ConfigError).hint).toBe(`move ${join(dir, 'data')} away, or point RC_DATA_DIR elsewhere`)
  })

  it('maps a directory written as a file (EISDIR → 78)', () => {
    const error = describeFsError(thrown(() => writeFileSync(dir, 'x')))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(`${dir}: it is a directory`)
  })

  it('maps a full disk to a temporary error naming the path (ENOSPC → 75)', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/data/redis-node-1/node.conf' })
    const error = describeFsError(full)
    expect(error).toBeInstanceOf(TemporaryError)
    expect((error as TemporaryError).exitCode).toBe(75)
    expect((error as Error).message).toBe('cannot write /data/redis-node-1/node.conf: no space left on the device')
  })

  it('maps a missing directory or file (ENOENT → 78), saying which', () => {
    const inMissingDir = describeFsError(thrown(() => writeFileSync(join(dir, 'nowhere', 'x.prom'), '')), { otherwise: 'point --textfile elsewhere' })
    expect(inMissingDir).toBeInstanceOf(ConfigError)
    expect((inMissingDir as Error).message).toBe(`cannot open ${join(dir, 'nowhere', 'x.prom')}: the directory ${join(dir, 'nowhere')} does not exist`)
    expect((inMissingDir as ConfigError).hint).toBe(`create it (mkdir -p ${join(dir, 'nowhere')}), or point --textfile elsewhere`)
    const missingFile = describeFsError(thrown(() => readFileSync(join(dir, 'absent'))))
    expect((missingFile as Error).message).toBe(`cannot open ${join(dir, 'absent')}: no such file`)
  })

  it('returns anything else unchanged', () => {
    const bug = new TypeError('not an fs error')
    expect(describeFsError(bug)).toBe(bug)
  })
})
