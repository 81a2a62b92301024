import { describe, expect, it } from 'vitest'
import { WARN_DAYS, certificateExpiry, judgeExpiry } from './tls-expiry.ts'

describe('judgeExpiry()', () => {
  const now = Date.parse('2026-11-26T00:00:00Z')
  const inDays = (source: string, days: number) => certificateExpiry(source, new Date(now + days * 86_400_000 + 60_000), now)
  it('works: a note within WARN_DAYS, a FAIL once expired, nothing for the rest', () => {
    const judged = judgeExpiry([inDays('long', 365), inDays('edge', WARN_DAYS), inDays('soon', WARN_DAYS - 1), inDays('gone', -1)])
    expect(judged).toEqual({ expired: ['gone expired on 2026-11-25'], soon: ['soon until 2026-12-25 (29 days left)'] })
  })
  it('a certificate ending this very moment is expired', () => {
    expect(certificateExpiry('now', new Date(now), now)).toMatchObject({ expired: true, daysLeft: 0 })
  })
})
