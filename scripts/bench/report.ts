import type { Line } from './types.ts'

export type Verdict = 'PASS' | 'MISS' | 'INFO'

export function verdictOf(line: Line): Verdict {
  if (!line.target || !Number.isFinite(line.value)) return 'INFO'
  const { max, strict } = line.target
  return (strict ? line.value < max : line.value <= max) ? 'PASS' : 'MISS'
}

const format = (value: number, unit: Line['unit']) => (!Number.isFinite(value) ? 'n/a' : unit === 'x' ? `${value.toFixed(2)}x` : `${value.toFixed(2)}s`)

/** One line per result: verdict, name, value, target, detail. */
export function renderLines(lines: readonly Line[]): string {
  const width = Math.max(...lines.map((l) => l.name.length))
  return lines
    .map((line) => {
      const target = line.target ? `${line.target.strict ? '<' : '≤'}${format(line.target.max, line.unit)}` : ''
      return `${verdictOf(line).padEnd(4)}  ${line.name.padEnd(width)}  ${format(line.value, line.unit).padStart(6)}  ${target.padEnd(7)}  ${line.detail}`
    })
    .join('\n')
}
