import { request } from 'node:http'
import { ConfigError, loadZx, runShell, type Stack } from '@redis-cluster/core'

/** Where the Docker engine listens, from DOCKER_HOST (default: the local unix socket). */
export interface DockerEndpoint {
  readonly label: string
  /** How to reach it over plain HTTP; undefined for ssh://, TLS or a named context (only the CLI can). */
  readonly http?: { socketPath: string } | { host: string; port: number }
}

export function dockerEndpoint(env: Readonly<Record<string, string>>): DockerEndpoint {
  const host = env.DOCKER_HOST || 'unix:///var/run/docker.sock'
  if (env.DOCKER_CONTEXT || env.DOCKER_TLS_VERIFY) return { label: env.DOCKER_CONTEXT ? `context ${env.DOCKER_CONTEXT}` : host }
  if (host.startsWith('unix://')) return { label: host, http: { socketPath: host.slice('unix://'.length) } }
  const tcp = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(host)
  return tcp ? { label: host, http: { host: tcp[1]!, port: Number(tcp[2]) } } : { label: host }
}

/**
 * GET on the engine's HTTP API: parsed JSON, `undefined` for 404, or throws when
 * the engine does not answer within `timeoutMs`. No process is spawned, so this
 * is cheap enough to run on every command (runtime selection).
 */
export function dockerGet<T>(endpoint: DockerEndpoint, path: string, timeoutMs = 1000): Promise<T | undefined> {
  const target = endpoint.http
  if (!target) return Promise.reject(new Error(`${endpoint.label} is reachable only through the docker CLI`))
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path, method: 'GET', timeout: timeoutMs, headers: { host: 'docker' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        if (res.statusCode === 404) return resolve(undefined)
        if (res.statusCode !== 200) return reject(new Error(`docker API ${path}: HTTP ${res.statusCode} ${body.trim()}`))
        try {
          resolve(path === '/_ping' ? (body as T) : (JSON.parse(body) as T))
        } catch (error) {
          reject(error)
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** `undefined` when the engine answers; otherwise why not, in a few words. */
export async function engineProblem(stack: Stack, timeoutMs = 1000): Promise<string | undefined> {
  const { which } = await loadZx()
  const endpoint = dockerEndpoint(stack.env)
  if (endpoint.http) {
    try {
      return (await dockerGet<string>(endpoint, '/_ping', timeoutMs)) === 'OK' ? undefined : `${endpoint.label} did not answer OK`
    } catch (error) {
      return `${endpoint.label}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`
    }
  }
  if (!(await which('docker', { nothrow: true }))) return 'the docker CLI is not installed'
  const out = await (await runShell({ quiet: true, nothrow: true, env: stack.env, timeout: timeoutMs * 3 }))`docker version --format ${'{{.Server.Version}}'}`
  return out.exitCode === 0 ? undefined : `${endpoint.label}: ${lastLine(out.stderr) || 'no answer'}`
}

/** Throws the ConfigError a user needs when no engine answers or the CLI is missing. */
export async function assertEngine(stack: Stack): Promise<void> {
  const { which } = await loadZx()
  if (!(await which('docker', { nothrow: true }))) {
    throw new ConfigError('the docker CLI is not installed', 'apt-get install -y docker.io docker-compose, or use RC_RUNTIME=local')
  }
  const problem = await engineProblem(stack, 3000)
  if (problem) {
    throw new ConfigError(`no Docker engine answers (${problem})`, 'start it (systemctl start docker; here: scripts/start-dockerd.sh), or use RC_RUNTIME=local')
  }
}

/** How to run compose: the v2 plugin (`docker compose`) if present, else v1 (`docker-compose`). Cached per process. */
let composeCommand: Promise<readonly string[]> | undefined
export function findCompose(stack: Stack): Promise<readonly string[]> {
  composeCommand ??= (async () => {
    const { which } = await loadZx()
    const v2 = await (await runShell({ quiet: true, nothrow: true, env: stack.env }))`docker compose version --short`
    if (v2.exitCode === 0) return ['docker', 'compose']
    if (await which('docker-compose', { nothrow: true })) return ['docker-compose']
    composeCommand = undefined
    throw new ConfigError('neither `docker compose` (v2 plugin) nor `docker-compose` (v1) is installed', 'apt-get install -y docker-compose, or install the docker compose plugin')
  })()
  return composeCommand
}

/** A container of this stack's compose project, found by labels (never by its generated name). */
export interface ProjectContainer {
  readonly id: string
  readonly service: string
  /** created | running | paused | restarting | removing | exited | dead */
  readonly state: string
}

export async function listProjectContainers(stack: Stack): Promise<ProjectContainer[]> {
  const format = '{{.ID}} {{.Label "com.docker.compose.service"}} {{.State}}'
  const out = await (await runShell({ quiet: true, env: stack.env }))`docker ps -a --no-trunc --filter ${`label=com.docker.compose.project=${stack.projectName}`} --format ${format}`
  return out.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', service = '', state = ''] = line.split(' ')
      return { id, service, state }
    })
}

export interface ContainerState {
  readonly Status: string
  readonly Running: boolean
  readonly Restarting: boolean
  readonly ExitCode: number
  readonly StartedAt: string
  readonly FinishedAt: string
}

/** `docker inspect` of one container, or undefined when it is gone. */
export async function inspectContainer(stack: Stack, id: string): Promise<{ State: ContainerState; RestartCount: number } | undefined> {
  const out = await (await runShell({ quiet: true, nothrow: true, env: stack.env }))`docker inspect --type container ${id}`
  if (out.exitCode !== 0) return undefined
  return (JSON.parse(out.stdout) as { State: ContainerState; RestartCount: number }[])[0]
}

/** The last `lines` lines a container wrote (stdout and stderr), optionally only since a time. */
export async function containerLogs(stack: Stack, id: string, { lines = 10, since }: { lines?: number; since?: string } = {}): Promise<string> {
  const out = await (await runShell({ quiet: true, nothrow: true, env: stack.env }))`docker logs --tail ${lines} ${since ? ['--since', since] : []} ${id}`
  return `${out.stdout}${out.stderr}`.trimEnd()
}

export const lastLine = (text: string) => text.trim().split('\n').at(-1)?.trim() ?? ''
