import { mkdtempSync, mkdirSync, copyFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadStack } from './stack.ts'
import { ConfigError } from './errors.ts'

const REPO = resolve(import.meta.dirname, '../../..')

const roots: string[] = []
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })))

/** A scratch root with the repo's compose file, an optional .env and a secret. */
function scratch({ dotenv = '', secret = 'pw' as string | null } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'rc-stack-'))
  roots.push(root)
  mkdirSync(join(root, 'compose'))
  copyFileSync(join(REPO, 'compose/docker-compose.yml'), join(root, 'compose/docker-compose.yml'))
  writeFileSync(join(root, '.env'), dotenv)
  if (secret !== null) {
    mkdirSync(join(root, 'secrets'))
    writeFileSync(join(root, 'secrets/redis_password.txt'), secret)
  }
  return root
}

function catchError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    return error as ConfigError
  }
  throw new Error('expected an error')
}

describe('loadStack()', () => {
  it('works: six nodes in the spec layout from the compose file defaults', () => {
    const stack = loadStack({ cwd: join(scratch(), 'compose'), env: {} })
    expect(stack.nodes.map((n) => [n.name, n.port, n.busPort, n.clusterIp, n.role, n.masterIndex])).toEqual([
      ['redis-node-0', 6379, 16379, '172.19.0.60', 'master', undefined],
      ['redis-node-1', 6380, 16380, '172.19.0.61', 'master', undefined],
      ['redis-node-2', 6381, 16381, '172.19.0.62', 'master', undefined],
      ['redis-node-3', 6382, 16382, '172.19.0.63', 'replica', 0],
      ['redis-node-4', 6383, 16383, '172.19.0.64', 'replica', 1],
      ['redis-node-5', 6384, 16384, '172.19.0.65', 'replica', 2],
    ])
    expect(stack.nodes.map((n) => n.slots)).toEqual([
      { start: 0, end: 5460 }, { start: 5461, end: 10922 }, { start: 10923, end: 16383 }, undefined, undefined, undefined,
    ])
    expect(stack.password).toBe('pw')
    expect(stack.runtime).toBe('auto')
    expect(Object.isFrozen(stack.nodes[0])).toBe(true)
  })

  it('reads .env, and the process environment overrides it', () => {
    const root = scratch({ dotenv: 'REDIS0_PORT=7000\nREDIS1_PORT=7001\nRC_RUNTIME=local\n' })
    const stack = loadStack({ cwd: root, env: { REDIS1_PORT: '7101' } })
    expect(stack.nodes[0]!.port).toBe(7000)
    expect(stack.nodes[1]!.port).toBe(7101)
    expect(stack.runtime).toBe('local')
  })

  it('trims a CRLF secret and says so', () => {
    const stack = loadStack({ cwd: scratch({ secret: 'pw\r\n' }), env: {} })
    expect(stack.password).toBe('pw')
    expect(stack.notices.join()).toMatch(/CRLF/)
  })

  it('names a missing secret and how to create it (exit 78)', () => {
    const root = scratch({ secret: null })
    const error = catchError(() => loadStack({ cwd: root, env: {} }))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toMatch(/^password secret .*redis_password.txt is missing$/)
    expect(error.exitCode).toBe(78)
    expect(error.hint).toMatch(/setup/)
  })

  it('rejects an empty secret', () => {
    expect(() => loadStack({ cwd: scratch({ secret: '\n' }), env: {} })).toThrow(/is empty/)
  })

  it('collects every problem into one error', () => {
    const root = scratch({ dotenv: 'REDIS0_PORT=abc\nREDIS2_PORT=6380\nRC_RUNTIME=cloud\n' })
    const error = catchError(() => loadStack({ cwd: root, env: {} }))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toMatch(/redis-node-0\.environment\.REDIS_PORT/)
    expect(error.message).toMatch(/port 6380 is used by both redis-node-1 and redis-node-2/)
    expect(error.message).toMatch(/RC_RUNTIME/)
  })

  it('reports a broken compose file', () => {
    const root = scratch()
    writeFileSync(join(root, 'compose/docker-compose.yml'), 'services: [unclosed')
    expect(() => loadStack({ cwd: root, env: {} })).toThrow(/not valid YAML/)
  })

  it('fails clearly outside a toolkit checkout', () => {
    expect(() => loadStack({ cwd: tmpdir(), env: {} })).toThrow(/no compose\/docker-compose.yml found/)
  })
})
