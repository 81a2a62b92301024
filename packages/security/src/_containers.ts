import { TemporaryError, runShell, type Stack } from '@redis-cluster/core'

/** What the audit reads of `docker inspect`: configuration a password could leak into, and published ports. */
export interface Container {
  readonly Id: string
  readonly Name: string
  readonly Path?: string
  readonly Args?: readonly string[] | null
  readonly Config: {
    readonly Env?: readonly string[] | null
    readonly Cmd?: readonly string[] | null
    readonly Entrypoint?: readonly string[] | null
    readonly Labels?: Readonly<Record<string, string>> | null
  }
  readonly HostConfig: {
    readonly NetworkMode?: string
    /** "6379/tcp" -> where the host publishes it; what compose asked for, running or not. */
    readonly PortBindings?: Readonly<Record<string, readonly { HostIp: string; HostPort: string }[] | null>> | null
  }
}

/**
 * `docker inspect` of every container of this engine (one call). Through the
 * CLI, so it works for every DOCKER_HOST/DOCKER_CONTEXT the compose runtime
 * works with. An engine that does not answer means the stack cannot be read: 75.
 */
export async function inspectContainers(stack: Stack): Promise<Container[]> {
  const $ = await runShell({ quiet: true, nothrow: true, env: stack.env, timeout: 15_000 })
  const ids = await $`docker ps -aq --no-trunc`
  if (ids.exitCode !== 0) throw new TemporaryError(`cannot list the Docker engine's containers (${ids.stderr.trim() || `exit ${ids.exitCode}`})`, 'check the engine answers: docker ps')
  const list = ids.stdout.split('\n').filter(Boolean)
  if (list.length === 0) return []
  const out = await $`docker inspect --type container ${list}`
  // a container removed between the two calls makes inspect fail for it alone: the rest is still printed
  if (!out.stdout.trim()) throw new TemporaryError(`docker inspect failed (${out.stderr.trim() || `exit ${out.exitCode}`})`, 'check the engine answers: docker ps')
  return JSON.parse(out.stdout) as Container[]
}

/** Where the container's configuration holds `secret` (never the value itself). */
export function leakedInto(container: Container, secret: string): string[] {
  const places: [string, readonly string[]][] = [
    ['Env', container.Config.Env ?? []],
    ['Cmd', container.Config.Cmd ?? []],
    ['Entrypoint', container.Config.Entrypoint ?? []],
    ['Labels', Object.entries(container.Config.Labels ?? {}).map(([k, v]) => `${k}=${v}`)],
    ['Args', [container.Path ?? '', ...(container.Args ?? [])]],
  ]
  return places.filter(([, values]) => values.some((v) => v.includes(secret))).map(([name]) => name)
}

export const containerName = (container: Container) => container.Name.replace(/^\//, '')
export const composeService = (container: Container) => container.Config.Labels?.['com.docker.compose.service']
export const composeProject = (container: Container) => container.Config.Labels?.['com.docker.compose.project']
