import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TemporaryError, ensureUserSecrets, isAlive, loadStack, withRunContext, type Stack } from '@redis-cluster/core'
import { allocatePorts, localRuntime } from '@redis-cluster/compose'
import { formCluster } from '@redis-cluster/init'

/** The spec's smallest layout (loadStack's minimum of six nodes): a backup of fewer shards restores onto it just as well. */
const MIN_MASTERS = 3

/** Budget for removing the throwaway cluster, also after the run was stopped or ran out of time. */
const CLEANUP_MS = 15_000

/**
 * Runs `use` against a throwaway local cluster of `shards` masters (at least
 * the spec's 3), each with one replica, on spare 127.0.0.1 ports, with the
 * stack's redis.conf and its own data dir and random secrets in a temp dir;
 * then removes it, whatever happened. Its shape comes from the backup, not
 * from `stack`: a backup of a cluster this toolkit did not start (external
 * runtime: any number of shards, nodes named host:port) drills the same way.
 * Its topology is a compose file written for it alone, which loadStack lays
 * out as it does any stack's (the local runtime starts no container). Nothing
 * in it touches `stack`'s nodes or files.
 */
export async function withThrowawayCluster<T>(stack: Stack, shards: number, use: (throwaway: Stack) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'rc-drill-'))
  let throwaway: Stack | undefined
  try {
    const secretsDir = join(dir, 'secrets')
    await ensureUserSecrets(secretsDir)
    // An empty .env of its own, so the user's .env (ports, project) never leaks in.
    await writeFile(join(dir, '.env'), '')
    const ports = await allocatePorts(2 * Math.max(MIN_MASTERS, shards)).catch((error: Error) => {
      throw new TemporaryError(`no spare ports for a throwaway cluster: ${error.message}`, 'free some 127.0.0.1 ports below the ephemeral range, or try again')
    })
    await writeFile(join(dir, 'compose.yml'), composeFile(ports))
    throwaway = loadStack({
      env: {
        PATH: process.env.PATH,
        RC_ROOT: stack.root,
        RC_ENV_FILE: join(dir, '.env'),
        RC_COMPOSE_FILE: join(dir, 'compose.yml'),
        RC_CONF_FILE: stack.confFile,
        RC_DATA_DIR: join(dir, 'data'),
        RC_RUNTIME: 'local',
        RC_TIMEOUT_MS: String(stack.timeoutMs),
        RC_SECRETS_DIR: secretsDir,
      },
    })
    await localRuntime.start(throwaway)
    await formCluster(throwaway, localRuntime)
    return await use(throwaway)
  } finally {
    if (throwaway) await removeCluster(throwaway)
    await rm(dir, { recursive: true, force: true })
  }
}

/** One redis-node-N service per port, masters first (loadStack's layout: the first half are masters), bus port +10000 as allocatePorts keeps free. */
function composeFile(ports: readonly number[]): string {
  const services = ports.map((port, i) => `  redis-node-${i}:\n    environment:\n      REDIS_PORT: ${port}\n      REDIS_BUS_PORT: ${port + 10000}\n`)
  return `# a backup drill's throwaway cluster: read by loadStack only\nservices:\n${services.join('')}`
}

/**
 * SIGKILL, not a clean SHUTDOWN: the data is thrown away, and after Ctrl-C
 * the process exits soon, so no node may be left saving (a node left
 * running would outlive us: they are detached). Its own run context, as the
 * run's may be aborted already, which would end core's waits at once.
 */
async function removeCluster(throwaway: Stack): Promise<void> {
  for (const node of await localRuntime.ps(throwaway)) if (node.pid !== undefined && isAlive(node.pid)) process.kill(node.pid, 'SIGKILL')
  await withRunContext({ deadline: Date.now() + CLEANUP_MS, signal: new AbortController().signal }, () => localRuntime.stop(throwaway, { purge: true }))
}
