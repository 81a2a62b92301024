import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BusyError, ConfigError, TemporaryError, addedNodesFile, connectNode, isAlive, isPaused, renderAclFile, replicationAuth, runRedisCli, waitFor, type Stack, type StackNode } from '@redis-cluster/core'
import { NODE_FAULTS, type NodeState, type Runtime, type StartResult, type StopResult } from './runtime.ts'
import { findPortOwner, isPortFree } from './_ports.ts'
import { assertCanWrite, confFile, logFile, onDisk, ownPidFile, redisPidFile, runningPid } from './_local-node.ts'

/**
 * The embedded default: each node is a daemonized `redis-server` on 127.0.0.1
 * with the compose file's ports, working in `<dataDir>/<node>/`. The password
 * reaches it through a 0600 conf file, never argv. We write each node's pid
 * file ourselves at spawn, so `ps`, `start` and `stop` know every process we
 * started even when Redis could not write its own.
 */
export const localRuntime: Runtime = {
  name: 'local',
  ownsNodes: true,
  faults: NODE_FAULTS,

  async start(stack, { progress } = {}): Promise<StartResult> {
    const running = stack.nodes.filter((node) => runningPid(node) !== undefined)
    const toStart = stack.nodes.filter((node) => !running.includes(node))
    assertSamePorts(running)
    await assertPortsFree(toStart)
    stack.nodes.forEach(assertCanWrite)
    if (toStart.length > 0) progress?.(`starting ${toStart.map((n) => n.name).join(', ')}`)
    const children = new Map(toStart.map((node) => [node, spawnNode(stack, node)]))
    await Promise.all(stack.nodes.map((node) => waitForPing(stack, node, children.get(node))))
    return { runtime: 'local', started: toStart.map((n) => n.name), alreadyRunning: running.map((n) => n.name) }
  },

  async stop(stack, { purge }): Promise<StopResult> {
    const stopped = await Promise.all(
      stack.nodes.map(async (node) => {
        const pid = runningPid(node)
        if (pid === undefined) return undefined
        // SIGTERM is a clean SHUTDOWN (AOF fsynced, RDB saved). Redis 7.0 ignores
        // it while a fresh replica writes its first AOF ("can't exit"), so it is
        // sent again on each poll; never SIGINT twice, which exits without saving.
        let lastSignal = 0
        const logStart = onDisk(() => (existsSync(logFile(node)) ? statSync(logFile(node)).size : 0))
        await waitFor(async () => {
          if (!isAlive(pid)) return true
          // A stopped process acts on no signal but SIGCONT/SIGKILL: waiting would only run out the clock.
          if (isPaused(pid)) throw new BusyError(`${node.name} (pid ${pid}) is paused (stopped by a signal) and cannot shut down`, `resume it with \`kill -CONT ${pid}\`, then run \`pnpm run down\` again`)
          assertCanSave(node, pid, logStart)
          if (Date.now() - lastSignal >= 500) {
            process.kill(pid, 'SIGTERM')
            lastSignal = Date.now()
          }
          return `${node.name} (pid ${pid}) still saving`
        }, {
          timeoutMs: stack.timeoutMs,
          intervalMs: 20,
          what: `${node.name} to stop`,
          hint: `see ${logFile(node)}; a node that cannot save does not stop`,
        })
        onDisk(() => rmSync(ownPidFile(node), { force: true }))
        return node.name
      }),
    )
    if (purge) for (const node of stack.nodes) onDisk(() => rmSync(node.dataDir, { recursive: true, force: true }))
    // the nodes added by cluster:add-node go with the cluster they joined
    if (purge && stack.nodes.some((n) => !n.added)) onDisk(() => rmSync(addedNodesFile(stack.dataDir), { force: true }))
    return { runtime: 'local', stopped: stopped.filter((name) => name !== undefined), purged: purge }
  },

  async ps(stack): Promise<NodeState[]> {
    return stack.nodes.map((node) => {
      const pid = runningPid(node)
      const state = pid !== undefined ? 'running' : existsSync(node.dataDir) ? 'stopped' : 'absent'
      return pid !== undefined ? { node: node.name, port: node.port, state, pid } : { node: node.name, port: node.port, state }
    })
  },

  clusterAddress: (node) => node.host,

  async logTail(_stack, node, lines = 10) {
    try {
      return readFileSync(logFile(node), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  },

  redisCli: (stack, args) => runRedisCli(stack, args),

  async fault(stack, nodes, fault) {
    // A clean restart is `stop` (SIGTERM: AOF fsynced, RDB saved) and `start` of the same nodes.
    if (fault === 'restart') {
      await localRuntime.stop({ ...stack, nodes }, { purge: false })
      await localRuntime.start(stack)
      return
    }
    const pids = nodes.map((node) => {
      const pid = runningPid(node)
      if (pid === undefined) throw new ConfigError(`${node.name} is not a redis-server this toolkit started (no live pid file in ${node.dataDir})`, 'start the stack with `pnpm run up`; a drill signals only processes it can name')
      return pid
    })
    for (const pid of pids) if (fault !== 'resume' || isPaused(pid)) process.kill(pid, FAULT_SIGNALS[fault])
    if (fault !== 'kill') return
    // `start` must find the ports free: the kernel frees them only once the process is gone.
    await waitFor(async () => pids.every((pid) => !isAlive(pid)) || 'still exiting', { timeoutMs: 10_000, intervalMs: 5, what: `${nodes.map((n) => n.name).join(', ')} to die on SIGKILL` })
  },
}

const FAULT_SIGNALS = { kill: 'SIGKILL', pause: 'SIGSTOP', resume: 'SIGCONT' } as const satisfies Record<string, NodeJS.Signals>

/** Nodes that run on other ports than the stack now gives (.env changed while they ran) cannot be used nor restarted in place. */
function assertSamePorts(running: readonly StackNode[]): void {
  const moved = running.flatMap((node) => {
    let conf = ''
    try {
      conf = readFileSync(confFile(node), 'utf8') // what it was started with
    } catch {
      return []
    }
    // under TLS the client port is tls-port (port 0)
    const [plain, tls, busPort] = [/^port (\d+)$/m, /^tls-port (\d+)$/m, /^cluster-port (\d+)$/m].map((re) => Number(re.exec(conf)?.[1]))
    const port = plain === 0 ? tls! : plain
    return Number.isNaN(port) || (port === node.port && busPort === node.busPort) ? [] : [`${node.name} runs on ${port}@${busPort}, not ${node.port}@${node.busPort}`]
  })
  if (moved.length === 0) return
  throw new ConfigError(
    `the ports changed while the nodes ran: ${moved.join(', ')}`,
    '`pnpm run down` stops them where they run; then `pnpm run up` moves the cluster to the new ports',
  )
}

/**
 * Redis does not stop on SIGTERM while it cannot save its final snapshot (dir
 * not writable, disk full): it logs "can't exit" and runs on. Waiting will
 * not help, and SIGKILL would drop the writes since its last save: say so at
 * once. Reads only the log written since we began to stop it.
 */
function assertCanSave(node: StackNode, pid: number, logStart: number): void {
  let lines: string[]
  try {
    lines = readFileSync(logFile(node)).subarray(logStart).toString('utf8').split('\n')
  } catch {
    return
  }
  const at = lines.findIndex((line) => line.includes("Error trying to save the DB, can't exit"))
  if (at < 0) return
  const cause = (lines.slice(0, at).reverse().find((line) => line.includes(' # ')) ?? lines[at]!).replace(/^.*? # /, '')
  const Problem = /No space left|quota/i.test(cause) ? TemporaryError : ConfigError
  throw new Problem(
    `${node.name} (pid ${pid}) cannot save its data, so it does not stop: ${cause}`,
    `let it write ${node.dataDir} (or free space there) and run down again; or stop it dropping the writes since its last save: pnpm cli -- -p ${node.port} shutdown nosave`,
  )
}

async function assertPortsFree(nodes: readonly StackNode[]): Promise<void> {
  const checks = nodes.flatMap((node) => [node.port, node.busPort].map(async (port) => ((await isPortFree(port, node.host)) ? undefined : { node, port })))
  const taken = (await Promise.all(checks)).filter((t) => t !== undefined)
  if (taken.length === 0) return
  const list = taken.slice(0, 3).map(({ node, port }) => `${port} (${node.name}) is used by ${findPortOwner(port) ?? 'another process'}`)
  const more = taken.length > 3 ? `, and ${taken.length - 3} more ports of this stack` : ''
  throw new ConfigError(`port ${list.join(', ')}${more}`, 'stop that process, or give the node other ports in .env (REDISn_PORT / REDISn_BUS_PORT)')
}

const quote = (path: string) => JSON.stringify(path)

/** Why a spawn failed (ENOENT: no redis-server in PATH); reported by waitForPing. */
const spawnErrors = new WeakMap<ChildProcess, Error>()

/**
 * Starts the node as a detached child (not `daemonize yes`) so we hold its
 * pid and see at once when it exits on a bad config or a taken port.
 */
function spawnNode(stack: Stack, node: StackNode): ChildProcess {
  const authFile = join(node.dataDir, 'auth.conf')
  const aclFile = join(node.dataDir, 'users.acl')
  const users = stack.users
  if (!users) throw new ConfigError(`the local runtime starts nodes from the ACL users' secrets, and ${stack.secretsDir} has none`, 'run `pnpm secrets:init`')
  // The node's ACL comes from the secrets at every start (what ACL SAVE wrote there says the same, unless edited by hand).
  onDisk(() => writeFileSync(aclFile, renderAclFile(users, stack.acl), { mode: 0o600 }))
  onDisk(() => writeFileSync(authFile, [`aclfile ${quote(aclFile)}`, ...replicationAuth({ users }).map(([name, value]) => `${name} ${quote(value)}`), ''].join('\n'), { mode: 0o600 }))
  onDisk(() => writeFileSync(
    confFile(node),
    [
      `# written by the local runtime at each start; edit ${stack.confFile} instead`,
      `include ${quote(stack.confFile)}`,
      ...portLines(stack, node),
      `cluster-port ${node.busPort}`,
      `bind ${node.host}`,
      `dir ${quote(node.dataDir)}`,
      `pidfile ${quote(redisPidFile(node))}`,
      `logfile ${quote(logFile(node))}`,
      `include ${quote(authFile)}`,
      ...(stack.nodeTimeoutMs === undefined ? [] : [`cluster-node-timeout ${stack.nodeTimeoutMs}`]),
      '',
    ].join('\n'),
  ))
  // Fatal config errors go to stderr before the logfile opens: send them to the log too.
  const log = onDisk(() => openSync(logFile(node), 'a'))
  const child = spawn('redis-server', [confFile(node)], { cwd: node.dataDir, detached: true, stdio: ['ignore', log, log] })
  child.on('error', (error) => (spawnErrors.set(child, error)))
  closeSync(log)
  child.unref()
  if (child.pid !== undefined) {
    try {
      onDisk(() => writeFileSync(ownPidFile(node), `${child.pid}\n`))
    } catch (error) {
      // untracked, it would outlive `down`; it has taken no writes yet, so nothing is lost
      child.kill('SIGKILL')
      throw error
    }
  }
  return child
}

/**
 * The client port; under RC_TLS the same number is the TLS port and the
 * plaintext port is off, and the bus and replication links speak TLS too,
 * all with the one node certificate (secrets:tls). Clients may present a
 * certificate (`optional`: checked against the CA when they do): the ACL
 * passwords authenticate every client already, and `yes` would make every
 * application and exporter carry a certificate from this local CA.
 */
function portLines(stack: Stack, node: StackNode): string[] {
  if (!stack.tls) return [`port ${node.port}`]
  const { nodeCert, nodeKey, ca } = stack.tls
  return ['port 0', `tls-port ${node.port}`, 'tls-cluster yes', 'tls-replication yes', `tls-cert-file ${quote(nodeCert)}`, `tls-key-file ${quote(nodeKey)}`, `tls-ca-cert-file ${quote(ca)}`, 'tls-auth-clients optional']
}

/** Waits for PING; a node whose process exited meanwhile fails at once with the tail of its log. */
async function waitForPing(stack: Stack, node: StackNode, child: ChildProcess | undefined): Promise<void> {
  await waitFor(
    async () => {
      if (child && (spawnErrors.get(child) as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        throw new ConfigError('redis-server is not installed (not found in PATH)', 'apt-get install -y redis-server redis-tools (and do not start the system service)')
      }
      if (child && child.exitCode !== null) {
        const tail = (await localRuntime.logTail(stack, node, 3)).replace(/\n/g, ' | ')
        throw new ConfigError(`${node.name} exited on start (code ${child.exitCode}): ${tail || 'no log'}`, `see ${logFile(node)}`)
      }
      const client = await connectNode(stack, node, { connectTimeoutMs: 1000 })
      try {
        return (await client.ping()) === 'PONG' || 'no PONG'
      } finally {
        client.disconnect()
      }
    },
    { timeoutMs: Math.min(stack.timeoutMs, 15_000), intervalMs: 20, what: `${node.name} to answer PING`, hint: `see ${logFile(node)}` },
  )
}
