/** The spec's layout: the first half of the nodes are masters with even slot ranges, node i+m replicates node i. */
export const SLOT_COUNT = 16384

export interface SlotRange {
  readonly start: number
  readonly end: number
}

/** Splits the 16384 slots the way `redis-cli --cluster create` does (0-5460, 5461-10922, 10923-16383 for three). */
export function splitSlots(masters: number): SlotRange[] {
  const perMaster = SLOT_COUNT / masters
  const ranges: SlotRange[] = []
  let cursor = 0
  for (let i = 0; i < masters; i++) {
    const start = i === 0 ? 0 : ranges[i - 1]!.end + 1
    const end = i === masters - 1 ? SLOT_COUNT - 1 : Math.round(cursor + perMaster - 1)
    ranges.push({ start, end })
    cursor += perMaster
  }
  return ranges
}

/** How many slots the ranges hold. */
export function countSlots(ranges: readonly SlotRange[]): number {
  return ranges.reduce((n, r) => n + r.end - r.start + 1, 0)
}

export function formatRanges(ranges: readonly SlotRange[]): string {
  return ranges.map((r) => (r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`)).join(',')
}

/** Sorted slot numbers as ranges: [1,2,3,7] → 1-3,7. */
export function toRanges(slots: readonly number[]): SlotRange[] {
  const ranges: { start: number; end: number }[] = []
  for (const s of slots) {
    const last = ranges.at(-1)
    if (last && last.end === s - 1) last.end = s
    else ranges.push({ start: s, end: s })
  }
  return ranges
}
