import { dirname, join } from 'node:path'
import { INIT_SERVICE } from '../../../packages/compose/src/index.ts'
import { findCompose } from '../../../packages/compose/src/_docker.ts'
import { composeUnavailable, createComposeTestStack, type ComposeTestStack } from '../../../packages/compose/test/compose-test-stack.ts'
import { connectAll } from '../../../packages/core/src/index.ts'
import { REPO_ROOT } from '../../../packages/test-utils/src/index.ts'
import { projectContainerIds, projectTimes, removeProjectFast, serviceLogTail, type ProjectTimes } from '../compose.ts'
import { disconnectAll, readProblems, waitHealthy, type Client } from '../health.ts'
import { assertOk, onCleanup, runChild } from '../measure.ts'
import { buildUpScripts, runUpScript, type BenchStack } from '../ours.ts'
import type { BenchCase, Line, Medians, Sample } from '../types.ts'

/** The standard side's override: redis-cluster-init runs the spec's plain script (plain-init.sh). */
const PLAIN_INIT_OVERRIDE = join(REPO_ROOT, 'scripts', 'bench', 'compose.plain-init.yml')
const HEALTH_TIMEOUT_MS = 30_000

type ComposeBench = ComposeTestStack & BenchStack

/** A throwaway compose project (own name, network, subnet, ports, secret); removed with everything it made at the end or on Ctrl-C. */
async function throwawayComposeStack(): Promise<ComposeBench> {
  const test = await createComposeTestStack()
  onCleanup(() => test.cleanup())
  return Object.assign(test, { stack: test.load() })
}

/**
 * Untimed: no container, volume or network of the project is left (what `down
 * --purge` leaves), so each run starts cold. Removed with the docker CLI rather
 * than `docker-compose down`, which takes seconds per round (graceful stops,
 * Python start-up) and would push the case past its ~2 minute budget.
 */
const removeProject = (bench: ComposeBench) => removeProjectFast(bench.project, bench.env.INFRA_NET_NAME ?? bench.project)

/** Where the time went, from docker's own start/finish times of the containers (epoch ms) against our start. */
function breakdown(startedEpochMs: number, totalMs: number, times: ProjectTimes): Record<string, number> {
  return {
    containersCreated: times.nodesCreated - startedEpochMs,
    containersStarted: times.nodesStarted - startedEpochMs,
    nodesUp: times.initStarted - startedEpochMs,
    untilInit: times.initStarted - times.nodesStarted,
    init: times.initFinished - times.initStarted,
    health: totalMs - (times.initFinished - startedEpochMs),
  }
}

/** The bench's own health check right after our scripts exit: 0 when healthy at once, else how long it took beyond (counted against us). */
async function healthLag(bench: ComposeBench): Promise<number> {
  const clients = await connectAll(bench.stack, bench.stack.nodes, { connectTimeoutMs: 1000 })
  try {
    const checked = performance.now()
    if ((await readProblems(clients, bench.stack.nodes.length / 2)).length === 0) return 0
    return (await waitHealthy(clients, bench.stack.nodes.length / 2, HEALTH_TIMEOUT_MS)) - checked
  } finally {
    disconnectAll(clients)
  }
}

/**
 * Ours, cold: compose/up then init/up, each the package's `up` script as turbo
 * runs it (`node dist/up.mjs`), RC_RUNTIME=compose, from no containers and no
 * volumes to the bench's own full-health condition.
 */
async function runOurs(bench: ComposeBench): Promise<Sample> {
  await buildUpScripts()
  await removeProject(bench)
  try {
    const startedEpochMs = Date.now()
    const compose = assertOk('compose up', await runUpScript(bench, 'compose', '-q'))
    const init = assertOk('init up', await runUpScript(bench, 'init', '--json'))
    const formCluster = Number((JSON.parse(init.stdout) as { elapsedMs: number }).elapsedMs)
    const lag = await healthLag(bench)
    const ms = compose.ms + init.ms + lag
    const times = await projectTimes(bench.project)
    // compose/up exits after it has seen the init container's exit (and read its log).
    const composeTail = compose.ms - (times.initFinished - startedEpochMs)
    return {
      ms,
      parts: { composeUp: compose.ms, initUp: init.ms, formCluster, composeTail, ...breakdown(startedEpochMs, ms, times), ...(lag > 0 ? { healthLag: lag } : {}) },
    }
  } finally {
    await removeProject(bench)
  }
}

/**
 * The standard, as the spec's original design runs it: plain `docker-compose up
 * -d` of the whole file (nodes, then the init container once every node's
 * healthcheck passed), with the init container running the plain script
 * (`redis-cli --cluster create ... --cluster-replicas 1`); `docker wait` for
 * the init container; then the bench's health poll on the published ports.
 */
async function runStandard(bench: ComposeBench): Promise<Sample> {
  await removeProject(bench)
  const [command, ...subcommand] = await findCompose(bench.stack)
  const composeArgs = [...subcommand, '-p', bench.project, '-f', bench.stack.composeFile, '-f', PLAIN_INIT_OVERRIDE]
  const options = { cwd: dirname(bench.stack.composeFile), env: { ...process.env, ...bench.env } }
  let connecting: Promise<Client[]> | undefined
  try {
    const startedEpochMs = Date.now()
    const started = performance.now()
    const up = assertOk(`${command} up -d`, await runChild(command!, [...composeArgs, 'up', '-d', '--no-color'], options))
    const [initId] = await projectContainerIds(bench.project, INIT_SERVICE)
    if (!initId) throw new Error(`${command} up -d left no ${INIT_SERVICE} container`)
    // The bench's connections are its own work, not the standard's: made while the init container runs.
    connecting = connectAll(bench.stack, bench.stack.nodes, { connectTimeoutMs: 1000 })
    const wait = assertOk(`docker wait ${INIT_SERVICE}`, await runChild('docker', ['wait', initId], options))
    if (wait.stdout.trim() !== '0') {
      throw new Error(`${INIT_SERVICE} (plain script) exited ${wait.stdout.trim()}:\n  ${(await serviceLogTail(bench.project, INIT_SERVICE)).replace(/\n/g, '\n  ')}`)
    }
    const healthyAt = await waitHealthy(await connecting, bench.stack.nodes.length / 2, HEALTH_TIMEOUT_MS)
    const ms = healthyAt - started
    const times = await projectTimes(bench.project)
    return { ms, parts: { composeUp: up.ms, initWaited: wait.ms, ...breakdown(startedEpochMs, ms, times) } }
  } finally {
    if (connecting) disconnectAll(await connecting.catch(() => []))
    await removeProject(bench)
  }
}

export const composeUpCase: BenchCase = {
  name: 'compose-up',
  summary: 'cold `up` on the compose runtime against `docker-compose up -d` + the spec\'s plain init (`redis-cli --cluster create`)',
  defaultRuns: 3,
  docker: true,
  async prepare() {
    const unavailable = composeUnavailable()
    if (unavailable) return { variants: [], lines: () => [skippedLine(unavailable)] }
    const ours = await throwawayComposeStack()
    const standard = await throwawayComposeStack()
    return {
      variants: [
        { key: 'ours', label: 'ours (compose runtime)', measure: () => runOurs(ours) },
        { key: 'standard', label: 'docker-compose + plain init', measure: () => runStandard(standard) },
      ],
      lines: (m) => composeUpLines(m),
    }
  },
}

/** The INFO line of a compose case that did not run, and why. */
export function skippedLine(why: string): Line {
  return { name: 'compose up: skipped', value: Number.NaN, unit: 's', detail: why }
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)}s`

function composeUpLines(m: Medians): Line[] {
  const ours = m.ms('ours')
  const standard = m.ms('standard')
  const parts = (key: string) =>
    `nodes up ${s(m.part(key, 'nodesUp'))} (first container created at ${s(m.part(key, 'containersCreated'))}, all running at ${s(m.part(key, 'containersStarted'))}, init started ${s(m.part(key, 'untilInit'))} later), init container ${s(m.part(key, 'init'))}, health after init ${s(m.part(key, 'health'))}`
  return [
    {
      name: 'compose up cold: ours / standard',
      value: ours / standard,
      unit: 'x',
      detail: `ours ${s(ours)} vs \`docker-compose up -d\` + wait for init (plain \`redis-cli --cluster create\`) + health ${s(standard)}`,
      target: { max: 1, strict: true },
    },
    {
      name: 'compose up cold: ours',
      value: ours / 1000,
      unit: 's',
      detail: `${parts('ours')}; compose/up ${s(m.part('ours', 'composeUp'))} (exits ${s(m.part('ours', 'composeTail'))} after init) + init/up ${s(m.part('ours', 'initUp'))} (formCluster ${s(m.part('ours', 'formCluster'))})`,
    },
    {
      name: 'compose up cold: standard',
      value: standard / 1000,
      unit: 's',
      detail: `${parts('standard')}; \`docker-compose up -d\` exited at ${s(m.part('standard', 'composeUp'))} (it waits for every healthcheck, then starts init)`,
    },
  ]
}
