import type { Stack } from '@redis-cluster/core'
import { describeLogicalRestore, renderLogicalRestore, restoreLogical, type LogicalRestoreResult } from './restore-logical.ts'
import { assessPhysicalRestore, renderPhysicalPlan, renderPhysicalRestore, restorePhysical, type PhysicalPlan, type PhysicalRestoreResult } from './restore-physical.ts'

/** `auto`: physical when it is possible here, else logical; the others are forced by `--physical` / `--logical`. */
export type RestoreMode = 'auto' | 'physical' | 'logical'

export type RestoreChoice =
  | { readonly kind: 'physical'; readonly why: string; readonly plan: PhysicalPlan }
  | { readonly kind: 'logical'; readonly why: string; readonly dir: string }

export type RestoreResult = ({ readonly kind: 'physical' } & PhysicalRestoreResult) | ({ readonly kind: 'logical' } & LogicalRestoreResult)

/**
 * Which restore `pnpm restore` runs, and why. Physical is preferred: it puts
 * the backup's RDBs in place (about as fast as Redis loads them) instead of
 * copying key by key. It is taken when the runtime can place files and the
 * cluster has the backup's slot layout, or to finish an interrupted physical
 * restore; otherwise the logical one, which needs only Redis connections. A
 * problem that stops either restore (the backup fails verification, a node
 * is down) is thrown, not a reason to switch.
 */
export async function chooseRestore(stack: Stack, dir: string, { mode, force = false }: { mode: RestoreMode; force?: boolean }): Promise<RestoreChoice> {
  if (mode === 'logical') return { kind: 'logical', why: '--logical', dir }
  const physical = await assessPhysicalRestore(stack, dir, { force })
  if (physical.possible) {
    const why = mode === 'physical' ? '--physical'
      : physical.plan.resumed ? 'it finishes the physical restore that was interrupted'
      : "the cluster has the backup's slot layout and the local runtime can place its RDB files"
    return { kind: 'physical', why, plan: physical.plan }
  }
  if (mode === 'physical') throw physical.reason
  return { kind: 'logical', why: `a physical restore is not possible here: ${physical.reason.message}`, dir }
}

/** The one line that says which restore runs and why, then what it would do. */
export async function describeRestore(stack: Stack, choice: RestoreChoice): Promise<string> {
  const what = choice.kind === 'physical' ? renderPhysicalPlan(choice.plan) : await describeLogicalRestore(stack, choice.dir)
  return `restore: ${choice.kind} (${choice.why})\n${what}`
}

export async function runRestore(stack: Stack, choice: RestoreChoice, options: { force?: boolean; progress?: (line: string) => void }): Promise<RestoreResult> {
  if (choice.kind === 'physical') return { kind: 'physical', ...(await restorePhysical(stack, choice.plan, options)) }
  return { kind: 'logical', ...(await restoreLogical(stack, choice.dir, options)) }
}

export function renderRestore(result: RestoreResult): string {
  return result.kind === 'physical' ? renderPhysicalRestore(result) : renderLogicalRestore(result)
}
