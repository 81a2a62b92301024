import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { openStack, runShell, tlsFiles, tlsOptions, type Address, type Stack, type StackTls } from '@redis-cluster/core'
import { allocatePorts } from './ports.ts'
import { REPO_ROOT } from './paths.ts'
import { runCli } from './run-cli.ts'

export interface ExternalNodes {
  readonly dir: string
  /** Every node listens on this one port, each on its own 127.0.0.x: like one node per host (with `perHost`, the first host's first port). */
  readonly port: number
  readonly addresses: readonly Address[]
  /** `default`: these nodes have one password (requirepass), as many outside clusters do. */
  readonly user: 'default'
  readonly password: string
  /** Plaintext, as most outside clusters on a private network; or (option `tls`) TLS only, with the certificates `secrets:tls` made in <dir>/secrets/tls/. */
  readonly tls: StackTls | undefined
  /** The environment that points the toolkit at these nodes: RC_RUNTIME=external, RC_SEEDS (the first two), RC_USER=default, RC_PASSWORD_FILE. */
  readonly env: Record<string, string>
  pid(address: Address): number
  /** The stack as a command sees it (nodes discovered from the cluster). */
  load(extra?: Record<string, string>): Promise<Stack>
  /** Kills every node (SIGKILL, by pid) and deletes the files; safe to call twice. */
  cleanup(): Promise<void>
}

export interface StartExternalNodesOptions {
  count: number
  /** The first simulated host: 127.0.0.<firstHost>, then the next ones. Default 2. */
  firstHost?: number
  /** cluster-node-timeout (ms). Default 3000. */
  nodeTimeoutMs?: number
  /** Default: a random one. */
  password?: string
  /** Nodes per simulated host, each on its own port (default 1: one node per 127.0.0.x). */
  perHost?: number
  /** More redis.conf lines for every node (a fault to simulate, e.g. an unreachable announced bus port). */
  extraConf?: readonly string[]
  /**
   * TLS only (port 0, tls-port, tls-cluster, tls-replication), with the node
   * certificate `pnpm secrets:tls --host ...` makes for these addresses, as
   * an operator would install it; env gets RC_TLS=1 and RC_SECRETS_DIR.
   */
  tls?: boolean
}

/**
 * Plain `redis-server` processes in cluster mode, started outside the
 * toolkit as an operator would on their hosts, not yet joined: Linux routes
 * all of 127.0.0.0/8 to loopback, so 127.0.0.2 … behave like separate hosts
 * that all use the same port. The password is in each node's config file,
 * never in argv.
 */
export async function startExternalNodes({ count, firstHost = 2, nodeTimeoutMs = 3000, password = randomBytes(12).toString('hex'), perHost = 1, extraConf = [], tls: withTls = false }: StartExternalNodesOptions): Promise<ExternalNodes> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-external-'))
  const passwordFile = join(dir, 'password.txt')
  writeFileSync(passwordFile, password, { mode: 0o600 })
  writeFileSync(join(dir, '.env'), '')
  const ports = await allocatePorts(perHost)
  const port = ports[0]
  const addresses = Array.from({ length: count }, (_, i) => ({ host: `127.0.0.${firstHost + Math.floor(i / perHost)}`, port: ports[i % perHost]! }))
  const pids = new Map<string, number>()
  const key = (a: Address) => `${a.host}:${a.port}`
  const env: Record<string, string> = {
    RC_ROOT: REPO_ROOT,
    RC_ENV_FILE: join(dir, '.env'),
    RC_DATA_DIR: join(dir, 'toolkit'),
    RC_BACKUP_DIR: join(dir, 'backups'),
    RC_RUNTIME: 'external',
    RC_SEEDS: addresses.slice(0, 2).map(key).join(','),
    RC_USER: 'default',
    RC_PASSWORD_FILE: passwordFile,
    RC_TIMEOUT_MS: '30000',
    ...(withTls ? { RC_TLS: '1', RC_SECRETS_DIR: join(dir, 'secrets') } : {}),
  }
  const tls = withTls ? tlsFiles(join(dir, 'secrets'), { remote: true }) : undefined
  const nodes: ExternalNodes = {
    dir,
    port: port!,
    addresses,
    user: 'default',
    password,
    tls,
    env,
    pid: (address) => pids.get(key(address)) ?? NaN,
    load: (extra = {}) => openStack({ env: { PATH: process.env.PATH, ...env, ...extra } }),
    async cleanup() {
      for (const pid of pids.values()) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      pids.clear()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    if (tls) {
      const made = await runCli('security/secrets-tls', ['--quiet', '--host', [...new Set(addresses.map((a) => a.host))].join(',')], env)
      if (made.exitCode !== 0) throw new Error(`secrets:tls for the external nodes failed (exit ${made.exitCode}): ${made.stderr}`)
    }
    for (const address of addresses) {
      const nodeDir = join(dir, key(address))
      mkdirSync(nodeDir)
      const ports = tls
        ? ['port 0', `tls-port ${address.port}`, 'tls-cluster yes', 'tls-replication yes', `tls-cert-file ${tls.nodeCert}`, `tls-key-file ${tls.nodeKey}`, `tls-ca-cert-file ${tls.ca}`]
        : [`port ${address.port}`]
      const conf = [`bind ${address.host}`, ...ports, `cluster-announce-ip ${address.host}`, `dir ${nodeDir}`, 'cluster-enabled yes', `cluster-node-timeout ${nodeTimeoutMs}`, 'appendonly yes', 'save ""', `requirepass ${password}`, `masterauth ${password}`, 'enable-debug-command local', `logfile ${join(nodeDir, 'redis.log')}`, ...extraConf]
      writeFileSync(join(nodeDir, 'redis.conf'), `${conf.join('\n')}\n`, { mode: 0o600 })
      const child = spawn('redis-server', [join(nodeDir, 'redis.conf')], { detached: true, stdio: 'ignore' })
      child.unref()
      pids.set(key(address), child.pid!)
    }
    await Promise.all(addresses.map((a) => waitForPing(a, password, tls)))
    return nodes
  } catch (error) {
    await nodes.cleanup()
    throw error
  }
}

/**
 * A cluster of `masters` × (1 + `replicas`) external nodes, formed the
 * standard way (`redis-cli --cluster create`), as a user's existing cluster
 * would have been.
 */
export async function createExternalCluster({ masters = 3, replicas = 1, ...options }: { masters?: number; replicas?: number } & Omit<StartExternalNodesOptions, 'count'> = {}): Promise<ExternalNodes> {
  const nodes = await startExternalNodes({ ...options, count: masters * (1 + replicas) })
  try {
    const $ = await runShell({ env: { ...process.env, REDISCLI_AUTH: nodes.password }, quiet: true, timeout: 60_000 })
    const tls = nodes.tls ? ['--tls', '--cacert', nodes.tls.ca, '--cert', nodes.tls.clientCert, '--key', nodes.tls.clientKey] : []
    // redis-cli waits for the join with no end of its own: the 60 s above bounds it
    await $`redis-cli ${tls} --cluster create ${nodes.addresses.map((a) => `${a.host}:${a.port}`)} --cluster-replicas ${replicas} --cluster-yes`
    await $`redis-cli ${tls} --cluster check ${nodes.addresses[0]!.host}:${nodes.port}`
    await waitForConsistent(nodes)
    return nodes
  } catch (error) {
    await nodes.cleanup()
    throw error
  }
}

async function waitForPing({ host, port }: Address, password: string, tls: StackTls | undefined): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const client = new Redis({ host, port, password, tls: tlsOptions({ tls }), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    client.on('error', () => {})
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') return
    } catch {
      await sleep(50)
    } finally {
      client.disconnect()
    }
  }
  throw new Error(`${host}:${port} did not start (see its redis.log)`)
}

/** Every node sees cluster_state:ok and every replica's link is up: what a user's running cluster looks like. */
async function waitForConsistent(nodes: ExternalNodes): Promise<void> {
  const clients = nodes.addresses.map(({ host, port }) => new Redis({ host, port, password: nodes.password, tls: tlsOptions(nodes) }))
  try {
    for (let attempt = 0; attempt < 600; attempt++) {
      const infos = await Promise.all(clients.map(async (c) => `${await c.cluster('INFO')}\n${await c.info('replication')}`))
      if (infos.every((i) => /cluster_state:ok/.test(i) && !/master_link_status:down/.test(i) && !/master_sync_in_progress:1/.test(i))) return
      await sleep(50)
    }
    throw new Error('the external cluster did not settle within 30 s')
  } finally {
    clients.forEach((c) => c.disconnect())
  }
}
