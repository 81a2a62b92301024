import { dirname, join } from 'node:path'
import { INIT_SERVICE, findCompose } from '../../../packages/compose/src/index.ts'
import { connectAll } from '../../../packages/core/src/index.ts'
import { REPO_ROOT, composeUnavailable, createComposeTestStack, type ComposeTestStack } from '../../../packages/test-utils/src/index.ts'
import { projectContainerIds, projectTimes, removeProjectFast, serviceLogTail, type ProjectTimes } from '../compose.ts'
import { connectWhenUp, disconnectAll, readProblems, waitHealthy, type Client } from '../health.ts'
import { assertOk, onCleanup, runChild } from '../measure.ts'
import { buildUp, runUp, type BenchStack } from '../ours.ts'
import { scaled, seconds } from '../report.ts'
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

/** The bench's own health check right after our `up` exits: 0 when healthy at once, else how long it took beyond (counted against us). */
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
 * Ours, cold: `up` as `pnpm run up` runs it (scripts/run.mjs → init's bundled
 * `up`), RC_RUNTIME=compose, from no containers and no volumes to the bench's
 * own full-health condition.
 */
async function runOurs(bench: ComposeBench): Promise<Sample> {
  await buildUp()
  await removeProject(bench)
  try {
    const startedEpochMs = Date.now()
    const up = assertOk('up', await runUp(bench, ['--json']))
    const formCluster = Number((JSON.parse(up.stdout) as { elapsedMs: number }).elapsedMs)
    const lag = await healthLag(bench)
    const ms = up.ms + lag
    const times = await projectTimes(bench.project)
    return { ms, parts: { up: up.ms, formCluster, ...breakdown(startedEpochMs, ms, times), ...(lag > 0 ? { healthLag: lag } : {}) } }
  } finally {
    await removeProject(bench)
  }
}

/**
 * The standard: the same steps as ours, done by hand with the plain tools, so
 * the ratio measures our work and not the nodes' 3 s healthcheck interval
 * (plain `docker-compose up -d` of the whole file waits for it before it
 * starts the init container; we ping the published ports instead):
 * `docker-compose up -d` of the six nodes; a plain wait until every node
 * answers PING (AUTH included, polled every 10 ms); `docker-compose up -d
 * --no-deps` of the init container running the spec's plain script
 * (`redis-cli --cluster create ... --cluster-replicas 1`); `docker wait` for
 * it; then the bench's health poll on the published ports.
 */
async function runStandard(bench: ComposeBench): Promise<Sample> {
  await removeProject(bench)
  const [command, ...subcommand] = await findCompose(bench.stack)
  const composeArgs = [...subcommand, '-p', bench.project, '-f', bench.stack.composeFile, '-f', PLAIN_INIT_OVERRIDE]
  const options = { cwd: dirname(bench.stack.composeFile), env: { ...process.env, ...bench.env } }
  let clients: Client[] = []
  try {
    const startedEpochMs = Date.now()
    const started = performance.now()
    const nodes = assertOk(`${command} up -d (nodes)`, await runChild(command!, [...composeArgs, 'up', '-d', '--no-color', ...bench.stack.nodes.map((n) => n.name)], options))
    const pinged = await connectWhenUp(bench.stack, HEALTH_TIMEOUT_MS)
    clients = pinged.clients
    const init = assertOk(`${command} up -d ${INIT_SERVICE}`, await runChild(command!, [...composeArgs, 'up', '-d', '--no-color', '--no-deps', INIT_SERVICE], options))
    const [initId] = await projectContainerIds(bench.project, INIT_SERVICE)
    if (!initId) throw new Error(`${command} up -d left no ${INIT_SERVICE} container`)
    const wait = assertOk(`docker wait ${INIT_SERVICE}`, await runChild('docker', ['wait', initId], options))
    if (wait.stdout.trim() !== '0') {
      throw new Error(`${INIT_SERVICE} (plain script) exited ${wait.stdout.trim()}:\n  ${(await serviceLogTail(bench.project, INIT_SERVICE)).replace(/\n/g, '\n  ')}`)
    }
    const healthyAt = await waitHealthy(clients, bench.stack.nodes.length / 2, HEALTH_TIMEOUT_MS)
    const ms = healthyAt - started
    const times = await projectTimes(bench.project)
    return { ms, parts: { composeUp: nodes.ms, pinged: pinged.at - started, initUp: init.ms, initWaited: wait.ms, ...breakdown(startedEpochMs, ms, times) } }
  } finally {
    disconnectAll(clients)
    await removeProject(bench)
  }
}

export const composeUpCase: BenchCase = {
  name: 'compose-up',
  summary: 'cold `up` on the compose runtime against plain `docker-compose up -d` of the nodes, a PING wait, and the spec\'s plain init (`redis-cli --cluster create`)',
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
        { key: 'standard', label: 'plain compose + plain init', measure: () => runStandard(standard) },
      ],
      lines: (m) => composeUpLines(m),
    }
  },
}

/** The INFO line of a compose case that did not run, and why. */
export function skippedLine(why: string): Line {
  return { name: 'compose up: skipped', value: Number.NaN, unit: 's', detail: why }
}

function composeUpLines(m: Medians): Line[] {
  const s = (key: string, part?: string) => seconds(m, key, part)
  const ours = m.ms('ours')
  const standard = m.ms('standard')
  const parts = (key: string) =>
    `first container created at ${s(key, 'containersCreated')}, all running at ${s(key, 'containersStarted')}, init container started at ${s(key, 'nodesUp')} (${s(key, 'untilInit')} after the last node) and ran ${s(key, 'init')}, health after init ${s(key, 'health')}`
  return [
    {
      name: 'compose up cold: ours / standard',
      value: ours / standard,
      range: m.ratioRange('ours', 'standard'),
      unit: 'x',
      detail: `ours ${s('ours')} vs plain \`docker-compose up -d\` of the nodes + PING wait + plain init + health ${s('standard')}`,
      target: { max: 1, strict: true },
    },
    { name: 'compose up cold: ours', value: ours / 1000, range: scaled(m.range('ours'), 1000), unit: 's', detail: `${parts('ours')} (up's formCluster, after init: ${s('ours', 'formCluster')})` },
    {
      name: 'compose up cold: standard',
      value: standard / 1000,
      range: scaled(m.range('standard'), 1000),
      unit: 's',
      detail: `${parts('standard')}; \`up -d\` of the nodes exited at ${s('standard', 'composeUp')}, all answered PING at ${s('standard', 'pinged')}`,
    },
  ]
}
