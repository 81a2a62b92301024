import { describe, expect, it } from 'vitest'
import { interpolate, interpolateDeep } from './_interpolate.ts'
import { ConfigError } from './errors.ts'

describe('interpolate()', () => {
  const env = { A: 'a', EMPTY: '' }

  it('works like compose for set, unset and empty variables', () => {
    expect(interpolate('${A}-$A-${B:-b}-${B-c}', env)).toBe('a-a-b-c')
    expect(interpolate('${EMPTY:-x}|${EMPTY-x}', env)).toBe('x|')
    expect(interpolate('$${A} costs $$5', env)).toBe('${A} costs $5')
  })

  it('throws a ConfigError for a required variable', () => {
    expect(() => interpolate('${B:?must be set}', env)).toThrow(ConfigError)
    expect(() => interpolate('${B:?must be set}', env)).toThrow(/B is not set: must be set/)
  })

  it('walks nested values', () => {
    expect(interpolateDeep({ ports: ['${A}:1'], n: 3 }, env)).toEqual({ ports: ['a:1'], n: 3 })
  })
})
