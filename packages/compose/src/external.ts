import { ConfigError, runRedisCli, type Stack } from '@redis-cluster/core'
import { answers, pauseByDebugSleep, waitAwake } from './external-pause.ts'
import type { NodeState, Runtime } from './runtime.ts'

/**
 * A cluster this toolkit did not start (RC_RUNTIME=external): its nodes, read
 * from the cluster by core's discoverStack, run on other hosts under someone
 * else's supervisor. So nothing here starts, stops, signals or reads files of
 * a node; those refuse with a line saying what to do instead. Everything that
 * needs only a Redis connection works as on the other runtimes, a pause too
 * (DEBUG SLEEP, where the node allows it).
 */
export const externalRuntime: Runtime = {
  name: 'external',
  ownsNodes: false,

  async start(stack) {
    return { runtime: 'external', started: [], alreadyRunning: stack.nodes.map((n) => n.name) }
  },

  async stop() {
    throw new ConfigError('the external runtime does not stop nodes: this toolkit did not start them', 'stop them on their hosts, with what started them there')
  },

  /** A node that answers PING is running; one that does not is `stopped` (down, paused, or unreachable from here). */
  async ps(stack) {
    return Promise.all(
      stack.nodes.map(async (node): Promise<NodeState> => ({ node: node.name, port: node.port, state: (await answers(stack, node, 1000)) ? 'running' : 'stopped' })),
    )
  },

  clusterAddress: (node) => node.host,

  async logTail() {
    throw new ConfigError("the external runtime cannot read the nodes' logs: they are on the nodes' hosts", 'read them there (their logfile, journalctl or docker logs)')
  },

  // The announced addresses are what this host dials too (checked when discovering the nodes).
  redisCli: (stack: Stack, args) => runRedisCli(stack, args),

  // A timed pause is the one fault a Redis connection can inject (external-pause.ts); killing or restarting needs the node's host.
  faults: ['pause', 'resume'],

  async fault(stack, nodes, fault, options) {
    if (fault === 'pause') return pauseByDebugSleep(stack, nodes, options?.pauseMs)
    if (fault === 'resume') return waitAwake(stack, nodes)
    throw new ConfigError(`the external runtime cannot ${fault} a node: it runs on another host, under another supervisor`, 'run this drill against a local or compose stack')
  },
}
