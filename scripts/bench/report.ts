import type { Line, Medians, Range } from './types.ts'

export type Verdict = 'PASS' | 'MISS' | 'INFO'

export function verdictOf(line: Line): Verdict {
  if (!line.target || !Number.isFinite(line.value)) return 'INFO'
  const { max, strict } = line.target
  return (strict ? line.value < max : line.value <= max) ? 'PASS' : 'MISS'
}

const format = (value: number, unit: Line['unit']) => (!Number.isFinite(value) ? 'n/a' : unit === 'x' ? `${value.toFixed(2)}x` : `${value.toFixed(2)}s`)

/** How a detail prints a variant's time (or one part of it): the median in seconds, then (min-max). */
export function seconds(m: Medians, key: string, part?: string): string {
  const { min, max } = m.range(key, part)
  return `${format((part === undefined ? m.ms(key) : m.part(key, part)) / 1000, 's')} (${format(min / 1000, 's')}-${format(max / 1000, 's')})`
}

/** A range of ms in a line's unit: divided by 1000 for seconds, or by a floor for a ratio. */
export function scaled({ min, max }: Range, divisor: number): Range {
  return { min: min / divisor, max: max / divisor }
}

/** One line per result: verdict, name, median value with (min-max), target, detail. */
export function renderLines(lines: readonly Line[]): string {
  const width = Math.max(...lines.map((l) => l.name.length))
  return lines
    .map((line) => {
      const target = line.target ? `${line.target.strict ? '<' : '≤'}${format(line.target.max, line.unit)}` : ''
      const range = line.range ? `(${format(line.range.min, line.unit)}-${format(line.range.max, line.unit)})` : ''
      return `${verdictOf(line).padEnd(4)}  ${line.name.padEnd(width)}  ${format(line.value, line.unit).padStart(6)} ${range.padEnd(15)}  ${target.padEnd(7)}  ${line.detail}`
    })
    .join('\n')
}

export interface Machine {
  readonly cores: number
  /** 1-minute load average at the start and at the end of the bench. */
  readonly loadAvg1m: readonly number[]
  readonly seconds: number
}

/** Ratios hold only on a quiet machine: say so when other work competed for the cores. */
export function renderMachine({ cores, loadAvg1m, seconds }: Machine): string {
  const busy = Math.max(...loadAvg1m) > cores / 2
  const load = loadAvg1m.map((l) => l.toFixed(1)).join(' -> ')
  return `${busy ? 'WARN' : 'INFO'}  machine: ${cores} cores, load ${load} over ${seconds}s${busy ? ': other work competed for the CPU, the timings are noisy (ours, CPU-bound at start, suffers most)' : ''}`
}
