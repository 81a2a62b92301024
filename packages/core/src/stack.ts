import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import * as z from 'zod/mini'
import { ConfigError, UsageError } from './errors.ts'
import { interpolateDeep } from './_interpolate.ts'
import { splitSlots, type SlotRange } from './layout.ts'
import { readStackSecrets } from './_secret.ts'
import type { AclSettings, UserPasswords } from './users.ts'
import { readEnvFile } from './_env-file.ts'
import { DEFAULTS, checkPort, readSettings, type Address, type RuntimeName } from './settings.ts'
import { appendAddedNodes, readAddedNodes, type AddedNode } from './added-nodes.ts'

export type { RuntimeName, Address }

export interface StackNode {
  readonly index: number
  /** Compose service name, e.g. `redis-node-0`. */
  readonly name: string
  readonly port: number
  readonly busPort: number
  /** Where code on this host dials the node (always loopback: published port or local process). */
  readonly host: string
  /** The fixed address inside the compose network (`infra_net`), if the file gives one. */
  readonly clusterIp: string | undefined
  readonly role: 'master' | 'replica'
  /** For a replica, the index of the master it replicates in the spec's layout. */
  readonly masterIndex: number | undefined
  /** For a master, the slots it owns in the spec's layout. */
  readonly slots: SlotRange | undefined
  /** Local runtime only: the node's working directory ('' on the external runtime). */
  readonly dataDir: string
  /** Discovered on a cluster this toolkit did not start (external runtime): dialled at its announced address. */
  readonly remote?: true
  /** Added to the spec's layout by `cluster:add-node` (no spec slots; `role`/`masterIndex` say what it was added as). */
  readonly added?: true
}

/**
 * RC_TLS's files in <secretsDir>/tls/ (`pnpm secrets:tls` makes them): the
 * local CA, the one certificate every node presents (its SANs cover every
 * node address), and the toolkit's client certificate.
 */
export interface StackTls {
  /**
   * External runtime: the nodes present certificates of their own, so the
   * toolkit reads only ca.crt (whom to trust) and client.crt/client.key
   * (what it presents); node.crt and the CA's key need not exist.
   */
  readonly remote: boolean
  readonly dir: string
  readonly ca: string
  readonly caKey: string
  readonly nodeCert: string
  readonly nodeKey: string
  readonly clientCert: string
  readonly clientKey: string
}

/** Where RC_TLS's certificates are: the one naming of those files. */
export function tlsFiles(secretsDir: string, { remote = false }: { remote?: boolean } = {}): StackTls {
  const dir = join(secretsDir, 'tls')
  const file = (name: string) => join(dir, name)
  return { remote, dir, ca: file('ca.crt'), caKey: file('ca.key'), nodeCert: file('node.crt'), nodeKey: file('node.key'), clientCert: file('client.crt'), clientKey: file('client.key') }
}

export interface Stack {
  readonly root: string
  readonly composeFile: string
  readonly envFile: string
  readonly confFile: string
  /** The toolkit's own password file: RC_PASSWORD_FILE, or RC_USER's secret. */
  readonly secretFile: string
  /** RC_SECRETS_DIR: users/<name>.txt per ACL user (users.ts). */
  readonly secretsDir: string
  readonly dataDir: string
  /** The compose project: COMPOSE_PROJECT_NAME (old name RC_PROJECT), default `redis-cluster`. */
  readonly projectName: string
  readonly runtime: RuntimeName
  /** RC_USER (default admin) and its password: what every command of the toolkit authenticates with. */
  readonly user: string
  readonly password: string
  /**
   * Each ACL user's passwords (its secret, then a pending rotation's new one),
   * where this toolkit owns the nodes (local, compose): their ACL is built
   * from them. Undefined on the external runtime (an outside cluster's users
   * are its own) and for commands that load without secrets.
   */
  readonly users: UserPasswords | undefined
  /** RC_APP_KEY_PATTERN, RC_DEFAULT_USER: the parts of the ACL that are settings. */
  readonly acl: AclSettings
  /** RC_TLS=1: the certificate files every connection uses; undefined: plaintext. */
  readonly tls: StackTls | undefined
  /**
   * Local and compose: the compose file's nodes in the spec's layout. External:
   * empty until discoverStack (discover.ts) read them from the cluster itself.
   */
  readonly nodes: readonly StackNode[]
  /** RC_SEEDS: where the external runtime finds its cluster. */
  readonly seeds: readonly Address[]
  /** `.env` merged under the process environment: what compose interpolates with. */
  readonly env: Readonly<Record<string, string>>
  /** Things the user should know that are not errors (e.g. a trimmed secret). */
  readonly notices: readonly string[]
  readonly timeoutMs: number
  /** REDIS_CLUSTER_NODE_TIMEOUT (ms): overrides redis.conf's cluster-node-timeout when set. */
  readonly nodeTimeoutMs: number | undefined
  /** RC_PUBLISH_BUS_PORTS: compose also publishes the cluster-bus ports. */
  readonly publishBusPorts: boolean
  /** Backups: the directory (RC_BACKUP_DIR, default `backups/` under the root) and the retention cron asks for (RC_BACKUP_KEEP, RC_BACKUP_KEEP_DAYS). */
  readonly backup: { readonly dir: string; readonly keep: number | undefined; readonly keepDays: number | undefined }
}

export interface LoadStackOptions {
  cwd?: string
  /** False: read no user secret (`secrets:init`, which creates them); `password` is then empty. */
  requireSecrets?: boolean
  env?: Readonly<Record<string, string | undefined>>
}

export const NODE_SERVICE = /^redis-node-(\d+)$/
const nodeService = z.object({
  environment: z.object({ REDIS_PORT: z.unknown(), REDIS_BUS_PORT: z.unknown(), REDIS_ADDED: z.optional(z.string()) }),
  networks: z.optional(z.record(z.string(), z.nullish(z.object({ ipv4_address: z.optional(z.string()) })))),
})

/** Walks up from `cwd` to the directory holding `compose/docker-compose.yml`. */
export function findRoot(cwd: string): string {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'compose', 'docker-compose.yml'))) return dir
    if (dirname(dir) === dir) {
      throw new ConfigError(`no compose/docker-compose.yml found above ${cwd}`, 'run from the toolkit checkout or set RC_ROOT')
    }
  }
}

/**
 * Reads `.env`, the compose file and the password secret into one validated,
 * frozen Stack. Process environment overrides `.env`, as dotenv users expect.
 * Every variable is checked against the one schema (settings.ts); every
 * problem is collected first and reported in one ConfigError.
 */
export function loadStack({ cwd = process.cwd(), env = process.env, requireSecrets = true }: LoadStackOptions = {}): Stack {
  const processEnv = definedOnly(env)
  const root = processEnv.RC_ROOT ? resolve(processEnv.RC_ROOT) : findRoot(cwd)
  const envFile = resolve(root, processEnv.RC_ENV_FILE || DEFAULTS.RC_ENV_FILE)
  const dotenv = readEnvFile(envFile)
  const { settings, problems: settingProblems, invalid, notices } = readSettings(dotenv.values, processEnv)
  const secretsDir = resolve(root, settings.secretsDir)
  // The compose file names each user's secret under RC_SECRETS_DIR: give it the same directory, absolute.
  const merged = { ...dotenv.values, ...processEnv, RC_SECRETS_DIR: secretsDir }
  const problems = [...dotenv.problems, ...settingProblems]
  const composeFile = resolve(root, settings.composeFile)
  const external = settings.runtime === 'external'
  // The external runtime's nodes come from the cluster (discoverStack): not reading the compose file saves every command its parse.
  const compose: ComposeFile = external ? {} : readCompose(composeFile, merged)
  if (external && settings.seeds.length === 0 && !invalid.has('RC_SEEDS')) problems.push('RC_RUNTIME=external needs RC_SEEDS=host:port[,host:port...] (nodes of the cluster to operate)')

  const allServices = Object.entries(compose.services ?? {})
    .map(([name, service]) => ({ name, index: Number(NODE_SERVICE.exec(name)?.[1]), service }))
    .filter((s) => Number.isInteger(s.index))
    .sort((a, b) => a.index - b.index)
  // services marked REDIS_ADDED were added by cluster:add-node: outside the spec's layout
  const isAdded = (s: { service: unknown }) => (s.service as { environment?: { REDIS_ADDED?: unknown } })?.environment?.REDIS_ADDED !== undefined
  const services = allServices.filter((s) => !isAdded(s))
  if (!external && (services.length < 6 || services.length % 2 !== 0)) {
    problems.push(`${composeFile} defines ${services.length} redis-node-N services; the layout needs an even number, at least 6`)
  }
  const masters = services.length / 2
  const ranges = splitSlots(Math.max(1, Math.floor(masters)))
  const dataDir = resolve(root, settings.dataDir)
  const nodes: StackNode[] = []
  const added: (AddedNode & { clusterIp?: string })[] = []
  for (const { name, index, service } of allServices) {
    const parsed = nodeService.safeParse(service)
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((i) => `${name}.${i.path.join('.')}: ${i.message}`))
      continue
    }
    const ports = nodePorts(name, index, parsed.data.environment, invalid)
    if ('problems' in ports) {
      problems.push(...ports.problems)
      continue
    }
    const clusterIp = Object.values(parsed.data.networks ?? {})[0]?.ipv4_address
    const addedAs = parsed.data.environment.REDIS_ADDED
    if (addedAs !== undefined) {
      added.push({ name, ...ports, role: addedAs, clusterIp })
      continue
    }
    const isMaster = index < masters
    nodes.push({
      index,
      name,
      port: ports.port,
      busPort: ports.busPort,
      host: '127.0.0.1',
      clusterIp,
      role: isMaster ? 'master' : 'replica',
      masterIndex: isMaster ? undefined : index - masters,
      slots: isMaster ? ranges[index] : undefined,
      dataDir: join(dataDir, name),
    })
  }
  const record = external ? { nodes: [] } : readAddedNodes(dataDir)
  if ('problem' in record) problems.push(record.problem)
  else added.push(...record.nodes)
  problems.push(...appendAddedNodes(nodes, added, dataDir))
  problems.push(...duplicatePorts(nodes))

  const secrets = readStackSecrets({ root, secretsDir, settings, required: !requireSecrets ? 'none' : external ? 'own' : 'all' })
  problems.push(...secrets.problems)
  const tls = settings.tls ? tlsFiles(secretsDir, { remote: external }) : undefined
  const tlsProblems = tlsSettingProblems(tls, requireSecrets)
  problems.push(...tlsProblems)
  if (problems.length > 0) {
    const fromEnv = [...invalid].filter((name) => name in processEnv)
    const inEnv = fromEnv.length > 0 ? ` (${fromEnv.join(', ')} set in the environment, which wins over .env)` : ''
    const only = (some: readonly string[]) => some.length > 0 && problems.length === some.length
    const fix = secrets.hint && only(secrets.problems) ? secrets.hint : only(tlsProblems) ? tlsHint(tls) : `edit ${envFile} or ${composeFile}${inEnv}`
    throw new ConfigError(problems.length === 1 ? problems[0]! : `invalid configuration: ${problems.join('; ')}`, fix)
  }
  return deepFreeze({
    root,
    composeFile,
    envFile,
    confFile: resolve(root, settings.confFile),
    secretFile: secrets.ownFile,
    secretsDir,
    dataDir,
    projectName: settings.projectName,
    runtime: settings.runtime,
    user: settings.user,
    password: secrets.ownPassword,
    users: secrets.users,
    acl: settings.acl,
    tls,
    nodes,
    seeds: settings.seeds,
    env: merged,
    notices: [...notices, ...secrets.notices],
    timeoutMs: settings.timeoutMs,
    nodeTimeoutMs: settings.nodeTimeoutMs,
    publishBusPorts: settings.publishBusPorts,
    backup: { dir: resolve(root, settings.backupDir), keep: settings.backupKeep, keepDays: settings.backupKeepDays },
  })
}

/**
 * A node's ports as the compose file hands them on (`REDIS_PORT: ${REDIS0_PORT:-6379}`),
 * checked like the variables; a bad REDISn_PORT already reported is not reported twice.
 */
function nodePorts(name: string, index: number, environment: { REDIS_PORT: unknown; REDIS_BUS_PORT: unknown }, invalid: ReadonlySet<string>): { port: number; busPort: number } | { problems: string[] } {
  const port = checkPort(`${name}: REDIS_PORT`, environment.REDIS_PORT)
  const busPort = checkPort(`${name}: REDIS_BUS_PORT`, environment.REDIS_BUS_PORT)
  if ('port' in port && 'port' in busPort) return { port: port.port, busPort: busPort.port }
  const problems: string[] = []
  if ('problem' in port && !invalid.has(`REDIS${index}_PORT`)) problems.push(port.problem)
  if ('problem' in busPort && !invalid.has(`REDIS${index}_BUS_PORT`)) problems.push(busPort.problem)
  return { problems }
}

const tlsHint = (tls: StackTls | undefined) =>
  tls?.remote
    ? `put the cluster's CA certificate as ca.crt and a client certificate the nodes accept as client.crt/client.key in ${tls.dir} (or make new ones for the nodes with \`pnpm secrets:tls --host H1,H2...\`), or unset RC_TLS`
    : 'run `pnpm secrets:tls` (it creates the missing certificates), or unset RC_TLS'

/**
 * RC_TLS=1 needs its files wherever secrets are read: on external only
 * those the toolkit itself reads (compose mounts them all into the
 * containers: docker-compose.tls.yml).
 */
function tlsSettingProblems(tls: StackTls | undefined, requireSecrets: boolean): string[] {
  if (!tls || !requireSecrets) return []
  const files = tls.remote ? [tls.ca, tls.clientCert, tls.clientKey] : [tls.ca, tls.nodeCert, tls.nodeKey, tls.clientCert, tls.clientKey]
  return files.filter((file) => !existsSync(file)).map((file) => `RC_TLS=1 but ${file} is missing`)
}

interface ComposeFile {
  services?: Record<string, unknown>
  secrets?: Record<string, { file?: string } | undefined>
}

function readCompose(file: string, env: Record<string, string>): ComposeFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw new ConfigError(`cannot read compose file ${file}`, 'restore it from git or set RC_COMPOSE_FILE')
  }
  try {
    return interpolateDeep(parseYaml(text, { merge: true }) ?? {}, env) as ComposeFile
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw new ConfigError(`${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, 'fix the file')
  }
}

function duplicatePorts(nodes: readonly StackNode[]): string[] {
  const owners = new Map<number, string>()
  const problems: string[] = []
  for (const node of nodes) {
    for (const p of [node.port, node.busPort]) {
      const owner = owners.get(p)
      if (owner) problems.push(`port ${p} is used by both ${owner} and ${node.name}`)
      owners.set(p, node.name)
    }
  }
  return problems
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
}

/** The same stack with other nodes (discoverStack's, read from the cluster). */
export function withNodes(stack: Stack, nodes: readonly StackNode[]): Stack {
  return deepFreeze({ ...stack, nodes: nodes.map((n) => ({ ...n })) })
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

/** A node by name (`redis-node-3`) or index (`3`); UsageError naming the choices otherwise. */
export function findNode(stack: Stack, nameOrIndex: string): StackNode {
  const node = stack.nodes.find((n) => n.name === nameOrIndex || `${n.index}` === nameOrIndex)
  if (node) return node
  const names = stack.nodes.map((n) => n.name)
  throw new UsageError(`unknown node '${nameOrIndex}'`, `use one of ${names[0]}..${names.at(-1)} (or 0..${names.length - 1})`)
}
