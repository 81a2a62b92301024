import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Stack } from '../../packages/core/src/index.ts'
import { connectWhenUp, disconnectAll, waitHealthy } from './health.ts'
import { assertNotAborted, assertOk, onCleanup, runChild } from './measure.ts'
import { waitPortsFree } from './ports.ts'

/** `ours`: each node includes our conf/redis.conf; `defaults`: Redis defaults plus only the cluster essentials and auth. */
export type StandardConfig = 'ours' | 'defaults'

export interface StandardSample {
  /** First spawn to full health. */
  readonly ms: number
  readonly parts: { readonly ping: number; readonly create: number; readonly settle: number }
}

/**
 * The standard flow, as the Redis docs run it: start six servers, wait for
 * PING, `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`,
 * then poll until full health. `ours` gives the ports and the admin password (which
 * reaches the servers through a 0600 conf file and redis-cli through
 * REDISCLI_AUTH, never argv); the servers live in `workDir` and are stopped
 * and deleted before this returns.
 */
export async function runStandardUp(ours: Stack, config: StandardConfig, workDir: string): Promise<StandardSample> {
  // The docs' flow has one password (requirepass, the default user), not our ACL users.
  const stack: Stack = { ...ours, user: 'default' }
  await waitPortsFree(stack)
  const confFiles = stack.nodes.map((node) => writeNodeConf(stack, config, join(workDir, node.name), node.port, node.busPort))
  const servers: ChildProcess[] = []
  const stopServers = onCleanup(() => stopAll(servers))
  let clients: Awaited<ReturnType<typeof connectWhenUp>>['clients'] = []
  try {
    const started = performance.now()
    for (const [i, conf] of confFiles.entries()) servers.push(spawnServer(conf, join(workDir, stack.nodes[i]!.name)))
    const up = await connectWhenUp(stack)
    clients = up.clients
    const seeds = stack.nodes.map((node) => `${node.host}:${node.port}`)
    const create = assertOk(
      'redis-cli --cluster create',
      await runChild('redis-cli', ['--cluster', 'create', ...seeds, '--cluster-replicas', '1', '--cluster-yes'], {
        cwd: workDir,
        env: { ...process.env, REDISCLI_AUTH: stack.password },
      }),
    )
    const createdAt = up.at + create.ms
    const healthyAt = await waitHealthy(clients, stack.nodes.length / 2)
    return { ms: healthyAt - started, parts: { ping: up.at - started, create: createdAt - up.at, settle: healthyAt - createdAt } }
  } finally {
    disconnectAll(clients)
    await stopServers()
    rmSync(workDir, { recursive: true, force: true })
  }
}

function writeNodeConf(stack: Stack, config: StandardConfig, dir: string, port: number, busPort: number): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const auth = join(dir, 'auth.conf')
  writeFileSync(auth, `requirepass ${JSON.stringify(stack.password)}\nmasterauth ${JSON.stringify(stack.password)}\n`, { mode: 0o600 })
  const conf = join(dir, 'node.conf')
  const base = config === 'ours' ? [`include ${JSON.stringify(stack.confFile)}`] : ['cluster-enabled yes', 'cluster-config-file nodes.conf']
  const lines = [...base, `port ${port}`, `cluster-port ${busPort}`, 'bind 127.0.0.1', `dir ${JSON.stringify(dir)}`, 'logfile redis.log', `include ${JSON.stringify(auth)}`]
  writeFileSync(conf, `${lines.join('\n')}\n`)
  return conf
}

function spawnServer(conf: string, dir: string): ChildProcess {
  assertNotAborted()
  const log = openSync(join(dir, 'stderr.log'), 'a')
  const child = spawn('redis-server', [conf], { cwd: dir, stdio: ['ignore', log, log] })
  closeSync(log)
  return child
}

/**
 * SIGTERM by pid and wait for every exit. Redis 7.0 ignores a SIGTERM that
 * arrives while a replica writes its initial AOF right after a full sync
 * ("Writing initial AOF, can't exit"), so SIGTERM is repeated every 200 ms;
 * SIGKILL after 10 s.
 */
async function stopAll(servers: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    servers.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null || !child.pid) return resolve()
          const again = setInterval(() => child.kill('SIGTERM'), 200)
          const kill = setTimeout(() => child.kill('SIGKILL'), 10_000)
          child.once('exit', () => {
            clearInterval(again)
            clearTimeout(kill)
            resolve()
          })
          child.kill('SIGTERM')
        }),
    ),
  )
}
