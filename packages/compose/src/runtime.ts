import type { Stack, StackNode } from '@redis-cluster/core'

export interface NodeState {
  readonly node: string
  readonly port: number
  /** running: process/container up; stopped: exists but down; absent: never created. */
  readonly state: 'running' | 'stopped' | 'absent'
  readonly pid?: number
}

export interface StartResult {
  readonly runtime: string
  readonly started: readonly string[]
  readonly alreadyRunning: readonly string[]
}

export interface StopResult {
  readonly runtime: string
  readonly stopped: readonly string[]
  readonly purged: boolean
}

/** What a chaos drill does to a node: kill (SIGKILL), pause (SIGSTOP) and resume (SIGCONT) it, or restart it cleanly. */
export type NodeFault = 'kill' | 'pause' | 'resume' | 'restart'

/** Every fault: what a runtime that started the nodes can inject. */
export const NODE_FAULTS: readonly NodeFault[] = ['kill', 'pause', 'resume', 'restart']

export interface FaultOptions {
  /**
   * pause: how long it lasts where the runtime cannot end it at will (the
   * external runtime's DEBUG SLEEP, whose `resume` waits for it to end);
   * elsewhere a pause lasts until `resume`, and this is not needed.
   */
  readonly pauseMs?: number
}

export interface StartOptions {
  progress?: (line: string) => void
}

/** Where the nodes live. Every operation above this interface is the same for all runtimes. */
export interface Runtime {
  readonly name: 'local' | 'compose' | 'external'
  /**
   * True when this toolkit started the nodes (local, compose): it forms them
   * into the spec's layout, may signal them and read their files. False for
   * the external runtime: a cluster someone else runs, only reached by Redis
   * connections. Commands ask this, never the runtime's name.
   */
  readonly ownsNodes: boolean
  /** The faults `fault` can inject here (chaos refuses a drill that needs another before it starts). */
  readonly faults: readonly NodeFault[]
  /** Starts every node that is not running, and resolves once all answer PING. Idempotent. */
  start(stack: Stack, options?: StartOptions): Promise<StartResult>
  /** Stops every node cleanly (data kept), or also deletes the data with `purge`. */
  stop(stack: Stack, options: { purge: boolean }): Promise<StopResult>
  ps(stack: Stack): Promise<NodeState[]>
  /** The address other nodes use to reach this node (what CLUSTER MEET needs). */
  clusterAddress(node: StackNode): string
  /** The last lines of a node's log, for error messages (external: refuses, the logs are on other hosts). */
  logTail(stack: Stack, node: StackNode, lines?: number): Promise<string>
  /** Runs `redis-cli` where the nodes' announced addresses are reachable; password via REDISCLI_AUTH. */
  redisCli(stack: Stack, args: readonly string[]): Promise<string>
  /**
   * Injects a fault into nodes this toolkit started (chaos drills): signals to
   * the node processes (local) or `docker kill|pause|unpause|restart` of the
   * node containers (compose); on the external runtime only a timed pause
   * (see `faults`). Resolves once it took effect: a killed node is gone, a
   * restarted one answers PING. `resume` of a node that is not paused does
   * nothing. A ConfigError means it refused before touching any node.
   */
  fault(stack: Stack, nodes: readonly StackNode[], fault: NodeFault, options?: FaultOptions): Promise<void>
}
