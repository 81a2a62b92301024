#!/usr/bin/env tsx
/**
 * `pnpm bench`: our commands against the standard tools, same machine, same
 * run, medians of several rounds, printed as ratios with PASS/MISS against the
 * targets. A MISS does not fail the run: exit 0 unless the bench itself broke.
 * Add a case by appending to CASES (see scripts/bench/types.ts).
 */
import { availableParallelism, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { composeUpCase, skippedLine } from './bench/cases/compose-up.ts'
import { upCase } from './bench/cases/up.ts'
import { backupCase } from './bench/cases/backup.ts'
import { reportCase } from './bench/cases/report.ts'
import { failoverCase } from './bench/cases/failover.ts'
import { reshardCase } from './bench/cases/reshard.ts'
import { externalCase } from './bench/cases/external.ts'
import { cleanupOnSignals, isAborted, median, range, runCleanups } from './bench/measure.ts'
import { renderLines, renderMachine, verdictOf } from './bench/report.ts'
import type { BenchCase, Line, Medians, Sample } from './bench/types.ts'

const CASES: readonly BenchCase[] = [upCase, composeUpCase, backupCase, reportCase, failoverCase, reshardCase, externalCase]

const HELP = `pnpm bench [--runs N] [--case NAME] [--no-compose] [--json] [-q]

${CASES.map((c) => `  ${c.name.padEnd(11)} ${c.summary}${c.defaultRuns ? ` (default ${c.defaultRuns} rounds)` : ''}`).join('\n')}

  --runs N       rounds per case (default 5, or the case's own); each round measures every variant once
  --case NAME    run only this case
  --no-compose   skip the cases that need a Docker engine (they also skip, with an INFO line, when no engine answers or the image is missing)
  --json         print the results as JSON
  -q, --quiet    no progress on stderr
exit codes: 0 the bench ran (whatever PASS/MISS says), 1 the bench broke, 2 usage, 128+n on a signal
`

async function main(): Promise<number> {
  let args
  try {
    args = parseArgs({ options: { runs: { type: 'string' }, case: { type: 'string' }, 'no-compose': { type: 'boolean' }, json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } } }).values
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\nfix: see pnpm bench --help\n`)
    return 2
  }
  if (args.help) {
    process.stdout.write(HELP)
    return 0
  }
  const runs = Number(args.runs ?? 5)
  const cases = CASES.filter((c) => !args.case || c.name === args.case)
  if (!Number.isInteger(runs) || runs < 1 || cases.length === 0) {
    process.stderr.write(`bench: ${cases.length === 0 ? `unknown case ${args.case}` : `--runs must be a positive integer`}\nfix: see pnpm bench --help\n`)
    return 2
  }
  const progress = (line: string) => void (args.quiet || process.stderr.write(`${line}\n`))
  cleanupOnSignals()
  const started = performance.now()
  const load = [loadavg()[0]!]
  const results: { case: string; runs: number; lines: Line[]; samples: Record<string, Sample[]>; failures: Record<string, string> }[] = []
  try {
    for (const benchCase of cases) {
      if (benchCase.docker && args['no-compose']) {
        results.push({ case: benchCase.name, runs: 0, lines: [skippedLine('--no-compose')], samples: {}, failures: {} })
        continue
      }
      const caseRuns = args.runs === undefined ? (benchCase.defaultRuns ?? runs) : runs
      const preparing = performance.now()
      const { variants, lines } = await benchCase.prepare()
      progress(`${benchCase.name}: prepared in ${((performance.now() - preparing) / 1000).toFixed(1)}s`)
      const samples: Record<string, Sample[]> = Object.fromEntries(variants.map((v) => [v.key, []]))
      const failures: Record<string, string> = {}
      for (let round = 1; round <= caseRuns && variants.length > 0; round++) {
        for (const variant of variants) {
          if (failures[variant.key]) continue // an optional variant that failed once is not retried
          const at = `${benchCase.name} ${round}/${caseRuns}  ${variant.label.padEnd(26)}`
          try {
            const wall = performance.now()
            const sample = await variant.measure()
            samples[variant.key]!.push(sample)
            progress(`${at} ${(sample.ms / 1000).toFixed(3)}s  (with setup and teardown ${((performance.now() - wall) / 1000).toFixed(1)}s)`)
          } catch (error) {
            if (!variant.optional) throw error
            failures[variant.key] = (error as Error).message
            progress(`${at} FAILED (optional, skipped from now on): ${(error as Error).message}`)
          }
        }
      }
      const values = (key: string, part?: string) =>
        (samples[key] ?? []).map((s) => (part === undefined ? s.ms : (s.parts[part] ?? Number.NaN))).filter(Number.isFinite)
      const medians: Medians = {
        failed: (key) => failures[key],
        ms: (key) => median(values(key)),
        part: (key, part) => median(values(key, part)),
        range: (key, part) => range(values(key, part)),
        ratioRange: (a, b) => range(values(a).slice(0, values(b).length).map((ms, i) => ms / values(b)[i]!)),
      }
      results.push({ case: benchCase.name, runs: variants.length > 0 ? caseRuns : 0, lines: lines(medians), samples, failures })
    }
  } catch (error) {
    if (isAborted()) return 130 // the signal handler cleans up and exits with the signal's code
    process.stderr.write(`bench: broke: ${(error as Error).stack ?? error}\n`)
    return 1
  } finally {
    await runCleanups()
  }
  load.push(loadavg()[0]!)
  const machine = { cores: availableParallelism(), loadAvg1m: load, seconds: Math.round((performance.now() - started) / 1000) }
  if (args.json) {
    const json = results.map((r) => ({ ...r, lines: r.lines.map((l) => ({ ...l, verdict: verdictOf(l) })) }))
    process.stdout.write(`${JSON.stringify({ runs, machine, cases: json }, null, 2)}\n`)
  } else {
    for (const r of results) process.stdout.write(`${r.case} (${r.runs > 0 ? `medians of ${r.runs} runs (min-max)` : 'skipped'})\n${renderLines(r.lines)}\n`)
    process.stdout.write(`${renderMachine(machine)}\n`)
  }
  return 0
}

process.exitCode = await main()
