import { describe, expect, it } from 'vitest'
import { formatRanges, splitSlots } from './layout.ts'

describe('splitSlots()', () => {
  it('splits 16384 slots into the spec ranges for three masters', () => {
    expect(splitSlots(3)).toEqual([
      { start: 0, end: 5460 },
      { start: 5461, end: 10922 },
      { start: 10923, end: 16383 },
    ])
  })

  it('covers every slot exactly once for other master counts', () => {
    for (const masters of [1, 4, 5, 7]) {
      const ranges = splitSlots(masters)
      expect(ranges[0]!.start).toBe(0)
      expect(ranges.at(-1)!.end).toBe(16383)
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end + 1)
    }
  })
})

describe('formatRanges()', () => {
  it('prints single slots and ranges', () => {
    expect(formatRanges([{ start: 0, end: 5460 }, { start: 7, end: 7 }])).toBe('0-5460,7')
  })
})
