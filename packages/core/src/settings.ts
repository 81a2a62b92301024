import * as z from 'zod/mini'
import type { AclSettings } from './users.ts'

/**
 * Every variable the toolkit or its compose file reads, in one table: which
 * names exist, what each may hold, and the toolkit's defaults. The compose
 * file's own variables (REDIS*, INFRA_NET_*, DEFAULT_URL) are only checked
 * here: their defaults stay in compose/docker-compose.yml (`${VAR:-default}`),
 * because plain `docker-compose` must work without the toolkit. An empty value
 * means unset, as `${VAR:-default}` reads it.
 */

export type RuntimeName = 'auto' | 'compose' | 'local' | 'external'

/** Each kind's message completes `NAME='value'`; checked as written, so `0x7125` or `2s` are not numbers. */
const whole = (min: number, max: number, what: string) =>
  z.pipe(z.string().check(z.refine((s) => /^[1-9][0-9]*$/.test(s) && Number(s) >= min && Number(s) <= max, what)), z.transform(Number))
const matching = (pattern: RegExp, what: string) => z.string().check(z.regex(pattern, what))

const port = whole(1, 65535, ' is not a port (an integer 1-65535)')
const milliseconds = whole(1, 2 ** 31 - 1, ' is not a duration (a whole number of milliseconds, at least 1)')
const seconds = whole(1, 2 ** 31 - 1, ' is not a duration (a whole number of seconds, at least 1)')
const count = whole(1, 2 ** 31 - 1, ' is not a count (a whole number, at least 1)')
const octet = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const ipv4 = matching(new RegExp(`^${octet}(?:\\.${octet}){3}$`), ' is not an IPv4 address (like 172.19.0.60)')
const subnet = matching(new RegExp(`^${octet}(?:\\.${octet}){3}/(?:3[0-2]|[12]?[0-9])$`), ' is not an IPv4 subnet (like 172.19.0.0/16)')
const image = matching(/^[a-z0-9][\w.:/@-]*$/, ' is not an image reference (like redis:8.2.3-bookworm)')
const hostName = matching(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, ' is not a host name (like hy-home.local)')
const networkName = matching(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, ' is not a network name (letters, digits, _ . -)')
// Compose v2's rule for project names (v1 would silently rewrite others).
const projectName = matching(/^[a-z0-9][a-z0-9_-]*$/, ' is not a compose project name (lowercase letters, digits, - and _)')
const path = z.string()
const runtime = z.enum(['auto', 'compose', 'local', 'external'], ': expected one of auto, compose, local, external')
// host:port[,host:port...]: IPv4, IPv6 in brackets, or a host name; parsed into addresses by parseSeeds.
const seeds = z.pipe(
  z.string().check(z.refine((s) => s.split(',').every((seed) => parseSeed(seed.trim()) !== undefined), ' is not a seed list (host:port[,host:port...], like 10.0.0.5:6379,10.0.0.6:6379)')),
  z.transform(parseSeeds),
)
// ACL user names and key patterns: no whitespace (an ACL rule ends at a blank), no quotes.
const userName = matching(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, ' is not a user name (letters, digits, _ . -)')
const keyPatterns = z.pipe(
  matching(/^\s*[^\s"'][^"']*$/, ' is not a list of key patterns (like app:* or "app:* jobs:*", space separated)'),
  z.transform((s) => s.trim().split(/\s+/)),
)
const flag = z.pipe(z.string().check(z.regex(/^(1|0|true|false|yes|no)$/i, ': expected 1 or 0 (or true/false, yes/no)')), z.transform((s) => /^(1|true|yes)$/i.test(s)))

const VARIABLES = {
  // Read from the process environment only: they say where .env is.
  RC_ROOT: path,
  RC_ENV_FILE: path,
  // The toolkit's own settings.
  RC_COMPOSE_FILE: path,
  RC_CONF_FILE: path,
  RC_DATA_DIR: path,
  RC_RUNTIME: runtime,
  RC_TIMEOUT_MS: milliseconds,
  RC_PUBLISH_BUS_PORTS: flag,
  // The external runtime: a cluster this toolkit did not start, found from these nodes.
  RC_SEEDS: seeds,
  // ACL users: where their secrets are (secrets/users/<name>.txt), who the toolkit is, what the app user may touch.
  RC_SECRETS_DIR: path,
  RC_USER: userName,
  // The toolkit's own password file, for any runtime (an outside cluster has its own secret); default: RC_USER's secret.
  RC_PASSWORD_FILE: path,
  RC_APP_KEY_PATTERN: keyPatterns,
  RC_DEFAULT_USER: flag,
  // TLS on every node's client, bus and replication connections, from the certificates in RC_SECRETS_DIR/tls/ (`pnpm secrets:tls`).
  RC_TLS: flag,
  // Backups: where they go and how many a run keeps (cron sets these once, not on every command line).
  RC_BACKUP_DIR: path,
  RC_BACKUP_KEEP: count,
  RC_BACKUP_KEEP_DAYS: count,
  // The compose project: docker-compose reads the same name from compose/.env (-> ../.env).
  COMPOSE_PROJECT_NAME: projectName,
  /** The old name of COMPOSE_PROJECT_NAME, still honoured. */
  RC_PROJECT: projectName,
  // Interpolated by the compose file (REDISn_PORT, REDISn_BUS_PORT and REDISn_IP are in PATTERNS).
  REDIS_CLUSTER_NODE_TIMEOUT: milliseconds,
  REDIS_INIT_TIMEOUT_S: seconds,
  REDIS_BIND_ADDRESS: ipv4,
  // compose/docker-compose.node.yml: this host's address, which its nodes bind and announce.
  REDIS_HOST_ADDRESS: ipv4,
  REDIS_INIT_IP: ipv4,
  REDIS_EXPORTER_IP: ipv4,
  REDIS_INSIGHT_IP: ipv4,
  INFRA_NET_NAME: networkName,
  INFRA_NET_SUBNET: subnet,
  REDIS_IMAGE: image,
  REDIS_INIT_IMAGE: image,
  REDIS_EXPORTER_IMAGE: image,
  REDIS_INSIGHT_IMAGE: image,
  REDIS_EXPORTER_PORT: port,
  REDIS_EXPORTER_HOST_PORT: port,
  REDIS_INSIGHT_PORT: port,
  REDIS_INSIGHT_HOST_PORT: port,
  // The monitoring profile's Prometheus and Grafana (published on REDIS_BIND_ADDRESS).
  PROMETHEUS_IMAGE: image,
  GRAFANA_IMAGE: image,
  PROMETHEUS_HOST_PORT: port,
  GRAFANA_HOST_PORT: port,
  DEFAULT_URL: hostName,
} satisfies Record<string, z.ZodMiniType<unknown, string>>

const PATTERNS: readonly [RegExp, z.ZodMiniType<unknown, string>][] = [
  [/^REDIS\d+_(?:BUS_)?PORT$/, port],
  [/^REDIS\d+_IP$/, ipv4],
]

type Name = keyof typeof VARIABLES
type Values = { [K in Name]?: z.output<(typeof VARIABLES)[K]> }

/** The toolkit's defaults. COMPOSE_PROJECT_NAME's is repeated in .env.example, for plain docker-compose. */
export const DEFAULTS = {
  RC_ENV_FILE: '.env',
  RC_COMPOSE_FILE: 'compose/docker-compose.yml',
  RC_CONF_FILE: 'conf/redis.conf',
  RC_DATA_DIR: '.data',
  RC_RUNTIME: 'auto',
  RC_TIMEOUT_MS: 60_000,
  RC_PUBLISH_BUS_PORTS: false,
  RC_BACKUP_DIR: 'backups',
  RC_SECRETS_DIR: 'secrets',
  RC_USER: 'admin',
  RC_DEFAULT_USER: false,
  RC_TLS: false,
  COMPOSE_PROJECT_NAME: 'redis-cluster',
} as const satisfies Values

export interface Settings {
  readonly runtime: RuntimeName
  /** COMPOSE_PROJECT_NAME (or its old name RC_PROJECT). */
  readonly projectName: string
  /** RC_TIMEOUT_MS: the deadline of health waits. */
  readonly timeoutMs: number
  /** Paths as given, relative to the root. */
  readonly composeFile: string
  readonly confFile: string
  readonly dataDir: string
  /** REDIS_CLUSTER_NODE_TIMEOUT: overrides redis.conf's cluster-node-timeout when set. */
  readonly nodeTimeoutMs: number | undefined
  /** RC_PUBLISH_BUS_PORTS: also publish the cluster-bus ports (compose). */
  readonly publishBusPorts: boolean
  /** RC_BACKUP_DIR, relative to the root; RC_BACKUP_KEEP / RC_BACKUP_KEEP_DAYS: retention when no flag says otherwise (none by default). */
  readonly backupDir: string
  readonly backupKeep: number | undefined
  readonly backupKeepDays: number | undefined
  /** RC_SEEDS: where the external runtime finds its cluster (empty when unset). */
  readonly seeds: readonly Address[]
  /** RC_PASSWORD_FILE, relative to the root; unset: RC_USER's secret in RC_SECRETS_DIR. */
  readonly passwordFile: string | undefined
  /** RC_SECRETS_DIR, relative to the root: users/<name>.txt per ACL user. */
  readonly secretsDir: string
  /** RC_USER: the user the toolkit's commands run as. */
  readonly user: string
  /** RC_APP_KEY_PATTERN (default `*`) and RC_DEFAULT_USER. */
  readonly acl: AclSettings
  /** RC_TLS: the nodes speak TLS only (certificates in RC_SECRETS_DIR/tls/). */
  readonly tls: boolean
}

/** A node's address as this host dials it. */
export interface Address {
  readonly host: string
  readonly port: number
}

export interface SettingsResult {
  readonly settings: Settings
  /** One line per invalid value, naming the variable, the value and what is allowed. */
  readonly problems: readonly string[]
  /** Names whose value was invalid (the default stands in for them in `settings`). */
  readonly invalid: ReadonlySet<string>
  /** Unknown or outdated names: worth a line on stderr, not a failure. */
  readonly notices: readonly string[]
}

/**
 * Checks every known variable in `.env` (`fileEnv`) and the process
 * environment (which wins), and returns the settings with defaults filled in.
 * Unknown `RC_*` names, and unknown REDIS and INFRA_NET_ names in `.env`,
 * get a notice naming the closest known one.
 */
export function readSettings(fileEnv: Readonly<Record<string, string>>, processEnv: Readonly<Record<string, string>>): SettingsResult {
  const merged: Record<string, string> = { ...fileEnv, ...processEnv }
  const problems: string[] = []
  const invalid = new Set<string>()
  const values: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries(merged)) {
    const schema = schemaOf(name)
    if (!schema || raw === '') continue
    const result = schema.safeParse(raw)
    if (result.success) values[name] = result.data
    else {
      problems.push(`${name}='${raw}'${result.error.issues[0]!.message}`)
      invalid.add(name)
    }
  }
  const v = values as Values
  const notices = unknownNames(fileEnv, processEnv)
  for (const name of ['RC_ROOT', 'RC_ENV_FILE'] as const) {
    if (fileEnv[name]) notices.push(`${name} in .env has no effect (it says where .env is): set it in the environment`)
  }
  if (v.COMPOSE_PROJECT_NAME && v.RC_PROJECT && v.COMPOSE_PROJECT_NAME !== v.RC_PROJECT) {
    problems.push(`COMPOSE_PROJECT_NAME='${v.COMPOSE_PROJECT_NAME}' and RC_PROJECT='${v.RC_PROJECT}' disagree (RC_PROJECT is its old name)`)
  } else if (fileEnv.RC_PROJECT && !merged.COMPOSE_PROJECT_NAME) {
    notices.push('RC_PROJECT is the old name of COMPOSE_PROJECT_NAME: rename it in .env, so plain docker-compose finds the same project')
  }
  const settings: Settings = {
    runtime: v.RC_RUNTIME ?? DEFAULTS.RC_RUNTIME,
    projectName: v.COMPOSE_PROJECT_NAME ?? v.RC_PROJECT ?? DEFAULTS.COMPOSE_PROJECT_NAME,
    timeoutMs: v.RC_TIMEOUT_MS ?? DEFAULTS.RC_TIMEOUT_MS,
    composeFile: v.RC_COMPOSE_FILE ?? DEFAULTS.RC_COMPOSE_FILE,
    confFile: v.RC_CONF_FILE ?? DEFAULTS.RC_CONF_FILE,
    dataDir: v.RC_DATA_DIR ?? DEFAULTS.RC_DATA_DIR,
    nodeTimeoutMs: v.REDIS_CLUSTER_NODE_TIMEOUT,
    publishBusPorts: v.RC_PUBLISH_BUS_PORTS ?? DEFAULTS.RC_PUBLISH_BUS_PORTS,
    backupDir: v.RC_BACKUP_DIR ?? DEFAULTS.RC_BACKUP_DIR,
    backupKeep: v.RC_BACKUP_KEEP,
    backupKeepDays: v.RC_BACKUP_KEEP_DAYS,
    seeds: v.RC_SEEDS ?? [],
    passwordFile: v.RC_PASSWORD_FILE,
    secretsDir: v.RC_SECRETS_DIR ?? DEFAULTS.RC_SECRETS_DIR,
    user: v.RC_USER ?? DEFAULTS.RC_USER,
    acl: { appKeyPatterns: v.RC_APP_KEY_PATTERN ?? ['*'], defaultUser: v.RC_DEFAULT_USER ?? DEFAULTS.RC_DEFAULT_USER },
    tls: v.RC_TLS ?? DEFAULTS.RC_TLS,
  }
  return { settings, problems, invalid, notices }
}

/** True for every variable the toolkit or its compose file reads. */
export function isKnownVariable(name: string): boolean {
  return schemaOf(name) !== undefined
}

/** The port check of the schema, for a value the compose file hands on (`REDIS_PORT: ${REDIS0_PORT:-6379}`); `label` names it. */
export function checkPort(label: string, value: unknown): { port: number } | { problem: string } {
  if (value === undefined || value === null || value === '') return { problem: `${label} is not set` }
  const result = port.safeParse(String(value))
  return result.success ? { port: result.data } : { problem: `${label}='${String(value)}'${result.error.issues[0]!.message}` }
}

/** `host:port`, `[v6]:port`; undefined when malformed. */
export function parseSeed(seed: string): Address | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)):([0-9]+)$/.exec(seed)
  const port = Number(match?.[4])
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535 || String(port) !== match[4]) return undefined
  return { host: match[1] ?? match[2]!, port }
}

/** An address as users write it: `10.0.0.5:6379`, `[fd00::1]:6379`. */
export const formatAddress = ({ host, port }: Address): string => `${host.includes(':') ? `[${host}]` : host}:${port}`

function parseSeeds(list: string): Address[] {
  return list.split(',').map((seed) => parseSeed(seed.trim())!)
}

function schemaOf(name: string): z.ZodMiniType<unknown, string> | undefined {
  if (Object.hasOwn(VARIABLES, name)) return VARIABLES[name as Name]
  return PATTERNS.find(([pattern]) => pattern.test(name))?.[1]
}

/** Names an older version read, and what took their place. */
const RETIRED: Record<string, string> = {
  REDIS_PASSWORD_FILE: 'each ACL user has its own secret in RC_SECRETS_DIR/users/ (`pnpm secrets:init` made admin\'s from the old one); delete the line',
}

function unknownNames(fileEnv: Readonly<Record<string, string>>, processEnv: Readonly<Record<string, string>>): string[] {
  // Other software's REDIS_* variables may well be in the process environment; in .env they are ours.
  const suspects = [
    ...Object.keys(fileEnv).filter((name) => /^(RC_|REDIS|INFRA_NET_)/.test(name)),
    ...Object.keys(processEnv).filter((name) => name.startsWith('RC_')),
  ]
  return [...new Set(suspects)]
    .filter((name) => !isKnownVariable(name))
    .map((name) => {
      if (name in RETIRED) return `${name} is no longer read: ${RETIRED[name]}`
      const guess = closestName(name)
      return guess ? `${name} is not a setting; did you mean ${guess}?` : `${name} is not a setting (see .env.example for the list)`
    })
}

/** The known name nearest by edit distance, when it is near enough to be a typo. */
export function closestName(name: string): string | undefined {
  const index = /^REDIS(\d+)_/.exec(name)?.[1] ?? '0'
  const candidates = [...Object.keys(VARIABLES), ...['PORT', 'BUS_PORT', 'IP'].map((suffix) => `REDIS${index}_${suffix}`)]
  let best: { name: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate)
    if (!best || distance < best.distance) best = { name: candidate, distance }
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 4)) ? best.name : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}
