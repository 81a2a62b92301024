import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { INIT_SERVICE } from '../../packages/compose/src/index.ts'

const execFileAsync = promisify(execFile)

/** Runs the docker CLI (a short query, not timed work); throws with its stderr on failure. */
export async function dockerQuery(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { env, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 })
  return stdout
}

/** Ids of a compose project's containers, optionally of one service, found by labels. */
export async function projectContainerIds(project: string, service?: string): Promise<string[]> {
  const filters = ['--filter', `label=com.docker.compose.project=${project}`, ...(service ? ['--filter', `label=com.docker.compose.service=${service}`] : [])]
  return (await dockerQuery(['ps', '-aq', '--no-trunc', ...filters])).split('\n').filter(Boolean)
}

/** A docker RFC 3339 time (nanoseconds) as epoch ms with sub-ms precision; NaN for the zero time (not yet). */
export function dockerTimeMs(text: string): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text.trim())
  if (!match || match[1]!.startsWith('0001-')) return Number.NaN
  return Date.parse(`${match[1]}${match[3]}`) + Number(`0.${match[2] ?? '0'}`) * 1000
}

/** When a project's containers started, and its init container's run, in epoch ms (docker's clock: the host's). */
export interface ProjectTimes {
  /** The first node container's creation (what came before is the command's and compose's own start-up). */
  readonly nodesCreated: number
  /** The last node container's start. */
  readonly nodesStarted: number
  readonly initStarted: number
  readonly initFinished: number
  readonly initExitCode: number
}

export async function projectTimes(project: string): Promise<ProjectTimes> {
  const ids = await projectContainerIds(project)
  if (ids.length === 0) throw new Error(`project ${project} has no containers`)
  const format = '{{index .Config.Labels "com.docker.compose.service"}} {{.State.StartedAt}} {{.State.FinishedAt}} {{.State.ExitCode}} {{.Created}}'
  const rows = (await dockerQuery(['inspect', '--type', 'container', '--format', format, ...ids])).split('\n').filter(Boolean).map((line) => line.split(' '))
  const init = rows.find(([service]) => service === INIT_SERVICE)
  const nodes = rows.filter(([service]) => service !== INIT_SERVICE)
  if (!init) throw new Error(`project ${project} has no ${INIT_SERVICE} container`)
  return {
    nodesCreated: Math.min(...nodes.map(([, , , , created]) => dockerTimeMs(created!))),
    nodesStarted: Math.max(...nodes.map(([, started]) => dockerTimeMs(started!))),
    initStarted: dockerTimeMs(init[1]!),
    initFinished: dockerTimeMs(init[2]!),
    initExitCode: Number(init[3]),
  }
}

/** The last `lines` log lines of a project's service container (to explain a failure). */
export async function serviceLogTail(project: string, service: string, lines = 6): Promise<string> {
  const [id] = await projectContainerIds(project, service)
  if (!id) return `(no ${service} container)`
  try {
    const { stdout, stderr } = await execFileAsync('docker', ['logs', '--tail', String(lines), id], { timeout: 10_000 })
    return `${stdout}${stderr}`.trim()
  } catch (error) {
    return `(docker logs failed: ${(error as Error).message})`
  }
}

/**
 * Removes every container (with its anonymous volumes), named volume and the
 * network of a compose project: the state `down --volumes` leaves, without
 * compose's graceful stops and Python start-up (seconds per round). For
 * throwaway bench projects only: the nodes get SIGKILL.
 */
export async function removeProjectFast(project: string, network: string): Promise<void> {
  const label = `label=com.docker.compose.project=${project}`
  const containers = await projectContainerIds(project)
  if (containers.length > 0) await dockerQuery(['rm', '-f', '-v', ...containers])
  const volumes = (await dockerQuery(['volume', 'ls', '-q', '--filter', label])).split('\n').filter(Boolean)
  if (volumes.length > 0) await dockerQuery(['volume', 'rm', '-f', ...volumes])
  const networks = (await dockerQuery(['network', 'ls', '-q', '--filter', `name=^${network}$`])).split('\n').filter(Boolean)
  if (networks.length > 0) await dockerQuery(['network', 'rm', ...networks])
}
