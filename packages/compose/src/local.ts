import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, connectNode, describeFsError, isAlive, loadZx, waitFor, type Stack, type StackNode } from '@redis-cluster/core'
import type { NodeState, Runtime, StartResult, StopResult } from './runtime.ts'
import { findPortOwner, isPortFree } from './_ports.ts'

/**
 * The embedded default: each node is a daemonized `redis-server` on 127.0.0.1
 * with the compose file's ports, working in `<dataDir>/<node>/`. The password
 * reaches it through a 0600 conf file, never argv. We write each node's pid
 * file ourselves at spawn, so `ps`, `start` and `stop` know every process we
 * started even when Redis could not write its own.
 */
export const localRuntime: Runtime = {
  name: 'local',

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
        await waitFor(async () => {
          if (!isAlive(pid)) return true
          if (Date.now() - lastSignal >= 500) {
            process.kill(pid, 'SIGTERM')
            lastSignal = Date.now()
          }
          return `${node.name} (pid ${pid}) still saving`
        }, {
          timeoutMs: stack.timeoutMs,
          intervalMs: 20,
          what: `${node.name} to stop`,
          hint: `see ${logFile(node)}`,
        })
        onDisk(() => rmSync(ownPidFile(node), { force: true }))
        return node.name
      }),
    )
    if (purge) for (const node of stack.nodes) onDisk(() => rmSync(node.dataDir, { recursive: true, force: true }))
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

  async redisCli(stack, args) {
    const { $ } = await loadZx()
    const result = await $({ env: { ...process.env, REDISCLI_AUTH: stack.password }, quiet: true })`redis-cli -e ${args}`
    return result.stdout
  },
}

const logFile = (node: StackNode) => join(node.dataDir, 'redis.log')
const confFile = (node: StackNode) => join(node.dataDir, 'node.conf')
/** Written by us at spawn. */
const ownPidFile = (node: StackNode) => join(node.dataDir, 'node.pid')
/** Written by Redis, which skips it silently when it cannot; nodes started before ours existed have only this one. */
const redisPidFile = (node: StackNode) => join(node.dataDir, 'redis.pid')

/** Every fs call of this runtime goes through here, so a bad RC_DATA_DIR is one line naming the path. */
function onDisk<T>(call: () => T): T {
  try {
    return call()
  } catch (error) {
    throw describeFsError(error, { otherwise: 'point RC_DATA_DIR at another directory' })
  }
}

/** The pid of this node's redis-server if it runs: our pid file first, then Redis's. */
function runningPid(node: StackNode): number | undefined {
  for (const file of [ownPidFile(node), redisPidFile(node)]) {
    let pid: number
    try {
      pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
    } catch {
      continue
    }
    if (isNodeProcess(pid, node)) return pid
  }
  return undefined
}

/**
 * Ours if it is a redis-server (the command line guards against a reused
 * pid) working in this node's dir. Not by port: the ports may have changed
 * in .env since it started, and `down` must still stop it. Two nodes never
 * share a dir: Redis locks its nodes.conf.
 */
function isNodeProcess(pid: number, node: StackNode): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('redis-server') && readlinkSync(`/proc/${pid}/cwd`) === realpathSync(node.dataDir)
  } catch {
    return false
  }
}

/** Nodes that run on other ports than the stack now gives (.env changed while they ran) cannot be used nor restarted in place. */
function assertSamePorts(running: readonly StackNode[]): void {
  const moved = running.flatMap((node) => {
    let conf = ''
    try {
      conf = readFileSync(confFile(node), 'utf8') // what it was started with
    } catch {
      return []
    }
    const [port, busPort] = [/^port (\d+)$/m, /^cluster-port (\d+)$/m].map((re) => Number(re.exec(conf)?.[1]))
    return Number.isNaN(port) || (port === node.port && busPort === node.busPort) ? [] : [`${node.name} runs on ${port}@${busPort}, not ${node.port}@${node.busPort}`]
  })
  if (moved.length === 0) return
  throw new ConfigError(
    `the ports changed while the nodes ran: ${moved.join(', ')}`,
    '`pnpm run down` stops them where they run; then `pnpm run up` moves the cluster to the new ports',
  )
}

/**
 * A node whose dir cannot be written still starts and answers PING: Redis
 * skips its pidfile silently and fails only at the next save. So we try it:
 * create and delete a file. access(W_OK) is not enough, root passes it on a
 * `chattr +i` dir. Refused before anything starts: no node is reported
 * started that cannot persist.
 */
function assertCanWrite(node: StackNode): void {
  const probe = join(node.dataDir, '.write-probe')
  onDisk(() => {
    mkdirSync(node.dataDir, { recursive: true, mode: 0o700 })
    writeFileSync(probe, `${process.pid}\n`)
    rmSync(probe)
  })
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
  onDisk(() => writeFileSync(authFile, `requirepass ${quote(stack.password)}\nmasterauth ${quote(stack.password)}\n`, { mode: 0o600 }))
  onDisk(() => writeFileSync(
    confFile(node),
    [
      `# written by the local runtime at each start; edit ${stack.confFile} instead`,
      `include ${quote(stack.confFile)}`,
      `port ${node.port}`,
      `cluster-port ${node.busPort}`,
      `bind ${node.host}`,
      `dir ${quote(node.dataDir)}`,
      `pidfile ${quote(redisPidFile(node))}`,
      `logfile ${quote(logFile(node))}`,
      `include ${quote(authFile)}`,
      ...(stack.env.REDIS_CLUSTER_NODE_TIMEOUT ? [`cluster-node-timeout ${Number(stack.env.REDIS_CLUSTER_NODE_TIMEOUT)}`] : []),
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
