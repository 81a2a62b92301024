import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { CheckFailedError, ConfigError, NodeClient, waitFor } from '@redis-cluster/core'

/** How long a scratch server may take to load its RDB (within the run's own deadline). */
const LOAD_TIMEOUT_MS = 120_000

/**
 * Runs `use` against a throwaway standalone `redis-server` that has loaded
 * `rdb`, then stops it and deletes its files, whatever happened (finally).
 *
 * It listens on a unix socket in its own 0700 temp dir and on no TCP port
 * (`port 0`): nothing to allocate, no port another process can take between
 * our check and its bind, nothing reachable from the network, so it needs no
 * password. Cluster mode, AOF and RDB saves are off: it is read, never kept.
 * The RDB is copied in as dump.rdb so the backup itself is never opened for
 * writing. An RDB Redis refuses to load is a CheckFailedError with its words.
 */
export async function withScratchServer<T>(rdb: string, use: (client: NodeClient) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'rc-scratch-'))
  const socket = join(dir, 'redis.sock')
  const log = join(dir, 'redis.log')
  let child: ReturnType<typeof spawn> | undefined
  let client: NodeClient | undefined
  try {
    await copyFile(rdb, join(dir, 'dump.rdb'))
    const conf = [`port 0`, `unixsocket ${socket}`, 'unixsocketperm 700', `dir ${dir}`, 'dbfilename dump.rdb', `logfile ${log}`, 'save ""', 'appendonly no', 'cluster-enabled no', 'daemonize no', 'protected-mode yes']
    await writeFile(join(dir, 'redis.conf'), `${conf.join('\n')}\n`, { mode: 0o600 })
    child = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: 'ignore' })
    const exited = once(child, 'exit').then(() => true)
    const spawnError = once(child, 'error').then(([e]) => e as NodeJS.ErrnoException)
    const subject = { name: `scratch server for ${basename(rdb)}`, host: socket, port: 0 }
    await waitFor(
      async () => {
        const failed = await Promise.race([spawnError, exited, Promise.resolve(undefined)])
        if (failed instanceof Error) throw failed.code === 'ENOENT' ? new ConfigError('redis-server is not installed', 'install redis-server (Debian: apt-get install redis-server)') : failed
        if (failed) throw new CheckFailedError(`${basename(rdb)}: redis-server would not load it: ${await lastLogLine(log)}`, 'verify the backup (`pnpm backup:verify`) or use another one')
        if (!client) {
          // Auto-pipelining: the many commands a batch sends at once go out in a few writes.
          client = new NodeClient(subject, { path: socket, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, commandTimeout: 5000, disconnectTimeout: 50, enableAutoPipelining: true })
          client.on('error', () => {}) // connect errors are retried here; command errors reach their callers
        }
        if (client.status !== 'ready') await client.connect().catch(() => {})
        if (client.status !== 'ready') {
          client.disconnect()
          client = undefined
          return 'not listening yet'
        }
        await client.ping()
        return true
      },
      { timeoutMs: LOAD_TIMEOUT_MS, what: `a scratch redis-server to load ${basename(rdb)}` },
    )
    return await use(client!)
  } finally {
    client?.disconnect()
    if (child?.exitCode === null && child.signalCode === null) {
      const gone = once(child, 'exit')
      child.kill('SIGTERM')
      await gone
    }
    await rm(dir, { recursive: true, force: true })
  }
}

async function lastLogLine(log: string): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '')
  const lines = text.trim().split('\n').filter((l) => /#|Short read|CRC|Bad file/.test(l))
  return (lines.at(-1) ?? text.trim().split('\n').at(-1) ?? 'it exited').replace(/^\d+:\w \d+ \w+ \d+ [\d:.]+ [#*-] /, '')
}
