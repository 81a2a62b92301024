import { answered, assessHealth, readNodes, TemporaryError, type NodeReading, type Problem, type Stack } from '@redis-cluster/core'

export interface CheckResult {
  /** Core's one health verdict (the one `up` waits for and `status` shows). */
  readonly healthy: boolean
  /** How many nodes answered, of how many the stack has. */
  readonly answered: number
  readonly nodes: number
  /** Each problem with the command that fixes it. */
  readonly problems: readonly Problem[]
  /** Warnings, not errors: how the layout differs from the spec's after failovers. */
  readonly drift: readonly string[]
  readonly restore: readonly string[]
}

/**
 * One verdict from core's assessHealth over every node's own answers. Fewer
 * than a majority of nodes answering is no verdict at all (TemporaryError,
 * exit 75): the few that answer cannot speak for the cluster. A node
 * refusing our password is a configuration error (78), as in `status`.
 */
export async function checkCluster(stack: Stack, readings?: readonly NodeReading[]): Promise<CheckResult> {
  readings ??= await readNodes(stack)
  const refused = readings.find((r) => !answered(r) && r.error.exitCode === 78)
  if (refused && !answered(refused)) throw refused.error
  const answers = readings.filter(answered).length
  if (answers <= stack.nodes.length / 2) {
    throw new TemporaryError(`not enough nodes reachable to judge the cluster: ${answers} of ${stack.nodes.length} answer`, 'start the stack (`pnpm run up` for nodes this toolkit runs) or check the network, then retry')
  }
  const { healthy, details, drift, restore } = assessHealth(stack, readings)
  return { healthy, answered: answers, nodes: stack.nodes.length, problems: details, drift, restore }
}
