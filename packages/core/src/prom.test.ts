import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { renderPromText } from './prom.ts'

describe('renderPromText()', () => {
  it('writes HELP and TYPE once per metric, then its samples; leaves out metrics without samples', () => {
    const text = renderPromText([
      { name: 'rc_test_up', type: 'gauge', help: 'up', samples: [{ labels: { node: 'a' }, value: 1 }, { labels: { node: 'b' }, value: 0 }] },
      { name: 'rc_test_none', type: 'gauge', help: 'nothing', samples: [] },
      { name: 'rc_test_seen_total', type: 'counter', help: 'seen', samples: [{ value: 12 }] },
    ])
    expect(text).toBe('# HELP rc_test_up up\n# TYPE rc_test_up gauge\nrc_test_up{node="a"} 1\nrc_test_up{node="b"} 0\n# HELP rc_test_seen_total seen\n# TYPE rc_test_seen_total counter\nrc_test_seen_total 12\n')
  })

  it('escapes label values and help, and writes fractions, NaN and infinities as the format wants', () => {
    const text = renderPromText([{ name: 'rc_test_ratio', type: 'gauge', help: 'a \\ back\nslash', samples: [{ labels: { path: 'C:\\x "q"\nz' }, value: 1 / 3 }, { labels: { path: 'n' }, value: Number.NaN }, { labels: { path: 'i' }, value: -Infinity }] }])
    expect(text).toContain('# HELP rc_test_ratio a \\\\ back\\nslash\n')
    expect(text).toContain('rc_test_ratio{path="C:\\\\x \\"q\\"\\nz"} 0.333\n')
    expect(text).toContain('rc_test_ratio{path="n"} NaN\nrc_test_ratio{path="i"} -Inf\n')
    // the reference parser agrees
    expect(() => execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] })).not.toThrow()
  })
})
