import { UsageError, withStepDeadline, type Stack } from '@redis-cluster/core'
import type { Runtime } from '@redis-cluster/compose'
import { runDrill, type DrillOptions, type DrillReport } from './drill.ts'
import { assertRuntimeCan } from './stack-faults.ts'
import { SCENARIOS, findScenario, type Scenario } from './scenarios.ts'

export interface DrillsResult {
  /** Every drill's expectations held. */
  readonly ok: boolean
  readonly drills: readonly DrillReport[]
}

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
 * back before the next starts. Each drill has a deadline of its own,
 * RC_TIMEOUT_MS (they take 7-20 s), so `--all` needs no more than one drill.
 * A drill that fails its expectations does not stop the rest; one that
 * cannot run (a wait timed out, its deadline passed, Ctrl-C) does.
 */
export async function runDrills(stack: Stack, runtime: Runtime, scenarios: readonly Scenario[], options: DrillOptions = {}): Promise<DrillsResult> {
  assertRuntimeCan(runtime, scenarios, { destructive: Boolean(options.destructive) })
  const drills: DrillReport[] = []
  for (const scenario of scenarios) drills.push(await withStepDeadline(`the ${scenario.name} drill`, stack.timeoutMs, () => runDrill(stack, runtime, scenario, options)))
  return { ok: drills.every((d) => d.ok), drills }
}
