import { connectAll, type NodeClient, type Stack } from '@redis-cluster/core'
import { selectRuntime, type Runtime } from '@redis-cluster/compose'
import { inspectContainers, type Container } from './_containers.ts'
import { loadVulnerableList, vulnerableListFile, type VulnerableList } from './vulnerable-versions.ts'

/** What every check may look at; connections are opened once, containers inspected once, on first ask. */
export interface AuditContext {
  readonly stack: Stack
  readonly runtime: Runtime
  /** One connection per node, in `stack.nodes` order. */
  readonly clients: readonly NodeClient[]
  readonly vulnerableList: VulnerableList
  /** Every container of this Docker engine (compose runtime only; [] elsewhere). */
  containers(): Promise<readonly Container[]>
}

export type Verdict =
  | { readonly pass: true; readonly detail: string; readonly note?: string }
  | { readonly pass: false; readonly detail: string; readonly fix: string; readonly note?: string }
  /** The item does not apply here (the ACL items on a cluster whose users are not the toolkit's); `detail` says why. */
  | { readonly skip: true; readonly detail: string }

/**
 * One audit item: small, independent, reads what it needs from the context.
 * Each item is listed once, in AUDIT_CHECKS (checks.ts).
 */
export interface AuditCheck {
  readonly id: string
  readonly title: string
  run(context: AuditContext): Promise<Verdict>
}

export interface CheckResult {
  readonly id: string
  readonly title: string
  readonly status: 'PASS' | 'FAIL' | 'SKIP'
  readonly detail: string
  readonly fix?: string
  /** What the check could not see (e.g. firewalls on the external runtime). */
  readonly note?: string
}

export interface AuditReport {
  readonly ok: boolean
  readonly runtime: Runtime['name']
  readonly nodes: number
  readonly checks: readonly CheckResult[]
  /** The known-vulnerable version list: when it was last updated. */
  readonly vulnerableList: { readonly file: string; readonly updated: string }
}

/**
 * Runs every check against the running stack. A node that does not answer or
 * refuses the password is not a FAIL: the audit cannot judge what it cannot
 * read, so connecting throws (75 or 78) before any check runs.
 */
export async function auditStack(stack: Stack, checks: readonly AuditCheck[]): Promise<AuditReport> {
  const vulnerableList = loadVulnerableList(vulnerableListFile(stack.root))
  const runtime = await selectRuntime(stack)
  const clients = await connectAll(stack)
  let containers: Promise<readonly Container[]> | undefined
  const context: AuditContext = {
    stack,
    runtime,
    clients,
    vulnerableList,
    containers: () => (containers ??= runtime.name === 'compose' ? inspectContainers(stack) : Promise.resolve([])),
  }
  try {
    const results: CheckResult[] = []
    for (const check of checks) {
      const verdict = await check.run(context)
      if ('skip' in verdict) {
        results.push({ id: check.id, title: check.title, status: 'SKIP', detail: verdict.detail })
        continue
      }
      results.push({ id: check.id, title: check.title, status: verdict.pass ? 'PASS' : 'FAIL', detail: verdict.detail, ...(verdict.pass ? {} : { fix: verdict.fix }), ...(verdict.note ? { note: verdict.note } : {}) })
    }
    return { ok: results.every((r) => r.status !== 'FAIL'), runtime: runtime.name, nodes: stack.nodes.length, checks: results, vulnerableList: { file: vulnerableList.file, updated: vulnerableList.updated } }
  } finally {
    clients.forEach((client) => client.disconnect())
  }
}

/** Per-node findings to one verdict: PASS when no node has a problem, else FAIL listing them with one fix. */
export function judgeNodes(problems: readonly string[], passDetail: string, fix: string, note?: string): Verdict {
  const extra = note ? { note } : {}
  if (problems.length === 0) return { pass: true, detail: passDetail, ...extra }
  return { pass: false, detail: problems.join('; '), fix, ...extra }
}
