import { ConfigError, UsageError, type Stack } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { runDrill, type DrillOptions, type DrillReport } from './drill.ts'
import { SCENARIOS, findScenario, type Scenario } from './scenarios.ts'

export interface DrillsResult {
  /** Every drill's expectations held. */
  readonly ok: boolean
  readonly drills: readonly DrillReport[]
}

/** What one drill may take on a busy machine at the default node timeout (they take 7-20 s). */
const DRILL_BUDGET_MS = 40_000

/** The scenarios a command line names: one, or all of them with `all`. */
export function pickScenarios(names: readonly string[], { all }: { all: boolean }): Scenario[] {
  const list = `scenarios: ${SCENARIOS.join(', ')}`
  if (all && names.length > 0) throw new UsageError('give a scenario or --all, not both', list)
  if (all) return SCENARIOS.map((name) => findScenario(name)!)
  if (names.length !== 1) throw new UsageError(names.length === 0 ? 'which drill? name a scenario or pass --all' : 'one scenario at a time (or --all)', list)
  const scenario = findScenario(names[0]!)
  if (!scenario) throw new UsageError(`unknown scenario '${names[0]}'`, list)
  return [scenario]
}

/**
 * Runs the drills one after another on the same stack; each puts the stack
 * back before the next starts. A drill that fails its expectations does not
 * stop the rest; one that cannot run (a wait timed out, Ctrl-C) does.
 */
export async function runDrills(stack: Stack, runtime: Runtime, scenarios: readonly Scenario[], options: DrillOptions = {}): Promise<DrillsResult> {
  // The whole run has one deadline, RC_TIMEOUT_MS: refuse at once what it cannot hold, not after six drills.
  const needed = scenarios.length * DRILL_BUDGET_MS
  if (scenarios.length > 1 && stack.timeoutMs < needed) {
    throw new ConfigError(`${scenarios.length} drills need up to ${needed / 1000}s, more than the run's deadline RC_TIMEOUT_MS=${stack.timeoutMs}`, `RC_TIMEOUT_MS=${needed} pnpm chaos --all (or set it in .env)`)
  }
  const drills: DrillReport[] = []
  for (const scenario of scenarios) drills.push(await runDrill(stack, runtime, scenario, options))
  return { ok: drills.every((d) => d.ok), drills }
}
