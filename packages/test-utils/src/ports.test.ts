import { describe, expect, it } from 'vitest'
import { allocatePorts, ephemeralRange } from './ports.ts'

describe('allocatePorts()', () => {
  it('keeps client and bus ports out of the ephemeral range and off 6379-6384', async () => {
    const { low } = ephemeralRange()
    for (let i = 0; i < 20; i++) {
      const ports = await allocatePorts(6)
      expect(ports).toHaveLength(6)
      for (const port of ports) {
        expect(port).toBeGreaterThan(6384)
        expect(port + 10000).toBeLessThan(low)
      }
    }
  })
})
