import type { FixResult } from './fix.ts'
import { renderCheck } from './render-check.ts'

/** Before, the plan (what was done, or would be with --dry-run), after. */
export function renderFix(result: FixResult): string {
  const plan = result.plan.length === 0 ? ['plan: nothing to do'] : result.plan.map((line) => `${result.dryRun ? 'would' : 'did'}: ${line}`)
  const after = result.dryRun ? [] : ['after:', renderCheck(result.after)]
  return ['before:', renderCheck(result.before), ...plan, ...after].join('\n')
}
