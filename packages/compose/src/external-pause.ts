import { ConfigError, connectNode, waitFor, type NodeClient, type Stack, type StackNode } from '@redis-cluster/core'

/** How long a node that got DEBUG SLEEP may keep answering before we call the pause failed (it runs the command on its next event-loop turn). */
const TAKE_EFFECT_MS = 5000

/**
 * The one fault the external runtime can inject: it cannot signal a process
 * on another host, but `DEBUG SLEEP <s>` blocks the node's single event loop,
 * clients and cluster bus alike, as SIGSTOP does; only for a time fixed up
 * front, so `resume` cannot cut it short and waits for it to end instead.
 * The node must allow DEBUG to this connection: `enable-debug-command yes`
 * (`local` allows it only from the node's own host) and, with ACLs, +debug.
 * Asked of every node first (`DEBUG SLEEP 0` returns at once), so a refusal
 * pauses none. Resolves once every node stopped answering (or already woke).
 */
export async function pauseByDebugSleep(stack: Stack, nodes: readonly StackNode[], pauseMs: number | undefined): Promise<void> {
  if (pauseMs === undefined || !(pauseMs > 0)) throw new ConfigError('the external runtime pauses a node only for a given time (DEBUG SLEEP)', 'pass the pause length (pauseMs)')
  const clients: NodeClient[] = []
  try {
    for (const node of nodes) clients.push(await connectNode(stack, node, { commandTimeoutMs: pauseMs + TAKE_EFFECT_MS }))
    await Promise.all(clients.map((client, i) => client.call('DEBUG', 'SLEEP', '0').catch((error: Error) => Promise.reject(debugRefused(nodes[i]!, error)))))
  } catch (error) {
    clients.forEach((c) => c.disconnect())
    throw error
  }
  const asleep = clients.map((client) => {
    let woke = false
    // The reply comes when the node wakes; its connection is of no use after that.
    void client
      .call('DEBUG', 'SLEEP', (pauseMs / 1000).toFixed(3))
      .catch(() => {})
      .finally(() => {
        woke = true
        client.disconnect()
      })
    return () => woke
  })
  await Promise.all(nodes.map((node, i) => waitFor(async () => asleep[i]!() || !(await answers(stack, node, 100)) || 'still answering', { timeoutMs: TAKE_EFFECT_MS, intervalMs: 10, what: `${node.name} to pause (DEBUG SLEEP)` })))
}

/** The external runtime's `resume`: waits until every node answers again (its DEBUG SLEEP ended); a node not paused answers at once. */
export async function waitAwake(stack: Stack, nodes: readonly StackNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => waitFor(async () => (await answers(stack, node, 500)) || 'asleep', { timeoutMs: stack.timeoutMs, intervalMs: 20, what: `${node.name} to wake from DEBUG SLEEP` })))
}

/** Whether the node takes a connection, AUTH and PING within `timeoutMs`. */
export async function answers(stack: Stack, node: StackNode, timeoutMs: number): Promise<boolean> {
  const client = await connectNode(stack, node, { connectTimeoutMs: timeoutMs, commandTimeoutMs: timeoutMs }).catch(() => undefined)
  client?.disconnect()
  return client !== undefined
}

/** DEBUG refused: by enable-debug-command (off, or `local` and we are another host), or by the ACL user's permissions. */
function debugRefused(node: StackNode, error: Error): ConfigError {
  const why = /not allowed/i.test(error.message) ? 'enable-debug-command does not allow it from this host' : /NOPERM/.test(error.message) ? 'its ACL user may not run DEBUG' : error.message.split('. ')[0]!
  return new ConfigError(
    `${node.name} refuses DEBUG SLEEP (${why}): the external runtime pauses a node only with DEBUG SLEEP`,
    "allow it on that node (`enable-debug-command yes` in its config, then restart it; with ACLs, +debug for the toolkit's user), or drill a local or compose stack",
  )
}
