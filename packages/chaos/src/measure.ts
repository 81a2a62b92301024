import type { WriteRecord } from './writer.ts'

/** The writer's log cut at the drill's moments (performance.now ms): start, fault, healthy again, stop. */
export interface Moments {
  readonly startAt: number
  readonly faultAt: number
  readonly healthyAt: number
  readonly stopAt: number
}

export interface WriteCounts {
  readonly acknowledged: number
  readonly failed: number
  readonly failedElsewhere: number
  /** From the first failed write sent to the last one answered; null when none failed. */
  readonly failedWindowMs: number | null
}

export interface Throughput {
  /** Acknowledged writes per second before the fault, from it until healthy again, and after. */
  readonly before: number
  readonly during: number
  readonly after: number
}

/** Acknowledged and failed writes; `affected` says whether a key is in the slots the fault hit. */
export function countWrites(log: readonly WriteRecord[], affected: (key: number) => boolean): WriteCounts {
  const failures = log.filter((w) => !w.ok)
  return {
    acknowledged: log.length - failures.length,
    failed: failures.length,
    failedElsewhere: failures.filter((w) => !affected(w.key)).length,
    failedWindowMs: failures.length === 0 ? null : failures.reduce((m, w) => Math.max(m, w.doneAt), -Infinity) - failures.reduce((m, w) => Math.min(m, w.sentAt), Infinity),
  }
}

/**
 * When writes to the affected slots succeeded again, in ms after the fault:
 * the first acknowledged write to them that was sent after the fault and
 * after the last failed one (writes that got through before the fault took
 * hold, in its first milliseconds, do not count). Null while none has.
 */
export function writableAfter(log: readonly WriteRecord[], faultAt: number, affected: (key: number) => boolean): number | null {
  let lastFailure = faultAt
  for (const w of log) if (!w.ok && w.sentAt >= faultAt && affected(w.key)) lastFailure = Math.max(lastFailure, w.sentAt)
  let first: number | null = null
  for (const w of log) if (w.ok && w.sentAt >= lastFailure && affected(w.key) && (first === null || w.doneAt < first)) first = w.doneAt
  return first === null ? null : first - faultAt
}

export function throughput(log: readonly WriteRecord[], { startAt, faultAt, healthyAt, stopAt }: Moments): Throughput {
  const rate = (from: number, to: number) => (to > from ? Math.round(log.filter((w) => w.ok && w.doneAt >= from && w.doneAt < to).length / ((to - from) / 1000)) : 0)
  return { before: rate(startAt, faultAt), during: rate(faultAt, healthyAt), after: rate(healthyAt, stopAt) }
}

/** How long before the fault the earliest lost write was acknowledged (negative: after it); null when none was lost. */
export function lostAckedBeforeFault(lost: readonly WriteRecord[], faultAt: number): number | null {
  return lost.length === 0 ? null : faultAt - lost.reduce((m, w) => Math.min(m, w.doneAt), Infinity)
}
