import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import { parse as parseYaml } from 'yaml'
import * as z from 'zod/mini'
import { ConfigError, UsageError } from './errors.ts'
import { interpolateDeep } from './_interpolate.ts'
import { splitSlots, type SlotRange } from './layout.ts'
import { readSecret } from './_secret.ts'

export type RuntimeName = 'auto' | 'compose' | 'local' | 'external'

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
  /** Local runtime only: the node's working directory. */
  readonly dataDir: string
}

export interface Stack {
  readonly root: string
  readonly composeFile: string
  readonly envFile: string
  readonly confFile: string
  readonly secretFile: string
  readonly dataDir: string
  readonly projectName: string
  readonly runtime: RuntimeName
  readonly password: string
  readonly nodes: readonly StackNode[]
  /** `.env` merged under the process environment: what compose interpolates with. */
  readonly env: Readonly<Record<string, string>>
  /** Things the user should know that are not errors (e.g. a trimmed secret). */
  readonly notices: readonly string[]
  readonly timeoutMs: number
}

export interface LoadStackOptions {
  cwd?: string
  env?: Readonly<Record<string, string | undefined>>
}

const NODE_SERVICE = /^redis-node-(\d+)$/
const port = z.coerce.number().check(z.int(), z.minimum(1), z.maximum(65535))
const nodeService = z.object({
  environment: z.object({ REDIS_PORT: port, REDIS_BUS_PORT: port }),
  networks: z.optional(z.record(z.string(), z.nullish(z.object({ ipv4_address: z.optional(z.string()) })))),
})
const rcEnv = z.object({
  RC_RUNTIME: z._default(z.enum(['auto', 'compose', 'local', 'external']), 'auto'),
  RC_PROJECT: z._default(z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _')), 'redis-cluster'),
  RC_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 60_000),
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
 * Every problem is collected first and reported in one ConfigError.
 */
export function loadStack({ cwd = process.cwd(), env = process.env }: LoadStackOptions = {}): Stack {
  const root = env.RC_ROOT ? resolve(env.RC_ROOT) : findRoot(cwd)
  const envFile = resolve(root, env.RC_ENV_FILE ?? '.env')
  const fileEnv = existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {}
  const merged = { ...fileEnv, ...definedOnly(env) }
  const composeFile = resolve(root, merged.RC_COMPOSE_FILE ?? 'compose/docker-compose.yml')
  const compose = readCompose(composeFile, merged)
  const problems: string[] = []

  const settings = rcEnv.safeParse(merged)
  if (!settings.success) problems.push(...settings.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`))

  const services = Object.entries(compose.services ?? {})
    .map(([name, service]) => ({ name, index: Number(NODE_SERVICE.exec(name)?.[1]), service }))
    .filter((s) => Number.isInteger(s.index))
    .sort((a, b) => a.index - b.index)
  if (services.length < 6 || services.length % 2 !== 0) {
    problems.push(`${composeFile} defines ${services.length} redis-node-N services; the layout needs an even number, at least 6`)
  }
  const masters = services.length / 2
  const ranges = splitSlots(Math.max(1, Math.floor(masters)))
  const dataDir = resolve(root, merged.RC_DATA_DIR ?? '.data')
  const nodes: StackNode[] = []
  for (const { name, index, service } of services) {
    const parsed = nodeService.safeParse(service)
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((i) => `${name}.${i.path.join('.')}: ${i.message}`))
      continue
    }
    const { REDIS_PORT, REDIS_BUS_PORT } = parsed.data.environment
    const isMaster = index < masters
    nodes.push({
      index,
      name,
      port: REDIS_PORT,
      busPort: REDIS_BUS_PORT,
      host: '127.0.0.1',
      clusterIp: Object.values(parsed.data.networks ?? {})[0]?.ipv4_address,
      role: isMaster ? 'master' : 'replica',
      masterIndex: isMaster ? undefined : index - masters,
      slots: isMaster ? ranges[index] : undefined,
      dataDir: join(dataDir, name),
    })
  }
  problems.push(...duplicatePorts(nodes))

  const secretFile = resolve(dirname(composeFile), compose.secrets?.redis_password?.file ?? '../secrets/redis_password.txt')
  const secret = readSecret(secretFile)
  if ('problem' in secret) problems.push(secret.problem)

  if (problems.length > 0 || !settings.success || 'problem' in secret) {
    const fix = 'problem' in secret && problems.length === 1 ? secret.hint : `edit ${envFile} or ${composeFile}`
    throw new ConfigError(problems.length === 1 ? problems[0]! : `invalid configuration: ${problems.join('; ')}`, fix)
  }
  return deepFreeze({
    root,
    composeFile,
    envFile,
    confFile: resolve(root, merged.RC_CONF_FILE ?? 'conf/redis.conf'),
    secretFile,
    dataDir,
    projectName: settings.data.RC_PROJECT,
    runtime: settings.data.RC_RUNTIME,
    password: secret.password,
    nodes,
    env: merged,
    notices: secret.notice ? [secret.notice] : [],
    timeoutMs: settings.data.RC_TIMEOUT_MS,
  })
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
