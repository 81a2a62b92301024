import { readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { localRuntime } from '../../packages/compose/src/index.ts'
import { connectAll, type Stack } from '../../packages/core/src/index.ts'
import { REPO_ROOT } from '../../packages/test-utils/src/index.ts'
import { disconnectAll, readProblems, waitHealthy, watchHealthy } from './health.ts'
import { assertOk, runChild, type ChildResult } from './measure.ts'
import { waitPortsFree } from './ports.ts'
import { processStartSeconds, uptimeSeconds } from './proc.ts'

/** A throwaway stack: what a command needs in its environment, and the Stack it loads from that. */
export interface BenchStack {
  readonly env: Record<string, string>
  readonly stack: Stack
}

/** The packages whose `up` script `turbo run up` runs, in its order. */
const UP_PACKAGES = ['compose', 'init'] as const
type UpPackage = (typeof UP_PACKAGES)[number]

/** What turbo runs for a package's `up` task: its package.json script, read now so the bench follows the build setup. */
function upCommand(pkg: UpPackage): string {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', pkg, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
  const command = manifest.scripts?.up
  if (!command) throw new Error(`packages/${pkg}/package.json has no "up" script`)
  return command
}

/**
 * Brings the bundles `up` runs (dist/, turbo's `build` task, which `pnpm run up`
 * runs first) up to date with the sources, so the bench never times stale code
 * nor a rebuild. Untimed; a cache hit takes ~0.3 s.
 */
export async function buildUpScripts(): Promise<void> {
  const filters = UP_PACKAGES.map((pkg) => `--filter=@redis-cluster/${pkg}`)
  assertOk('turbo run build', await runChild(join(REPO_ROOT, 'node_modules', '.bin', 'turbo'), ['run', 'build', ...filters, '--output-logs=errors-only'], { cwd: REPO_ROOT, env: process.env }))
}

/**
 * Runs a package's `up` script exactly as turbo's task does (`sh -c` in the
 * package directory, node_modules/.bin on PATH, like pnpm), minus pnpm and turbo.
 * The flags are fixed words appended to the script.
 */
export function runUpScript(bench: BenchStack, pkg: UpPackage, flags: string): Promise<ChildResult> {
  const cwd = join(REPO_ROOT, 'packages', pkg)
  const PATH = [join(cwd, 'node_modules', '.bin'), join(REPO_ROOT, 'node_modules', '.bin'), process.env.PATH].join(delimiter)
  return runChild('/bin/sh', ['-c', `${upCommand(pkg)} ${flags}`], { cwd, env: { ...process.env, ...bench.env, PATH } })
}

export interface UpSample {
  readonly ms: number
  readonly parts: Record<string, number>
}

/**
 * compose/up then init/up, timed from the first spawn to the second exit.
 * Parts: each script's wall time, init's in-process `formCluster` time, and
 * with `watch` when the bench's own health condition first held (polled while init runs).
 */
async function runUpScripts(bench: BenchStack, { watch = false } = {}): Promise<UpSample> {
  const started = performance.now()
  const compose = assertOk('compose up', await runUpScript(bench, 'compose', '-q'))
  const watcher = watch ? watchHealthy(bench.stack, bench.stack.nodes.length / 2) : undefined
  try {
    // --json instead of -q only to read init's in-process elapsedMs; it renders a few hundred bytes at the end.
    const init = assertOk('init up', await runUpScript(bench, 'init', '--json'))
    const formMs = Number((JSON.parse(init.stdout) as { elapsedMs: number }).elapsedMs)
    const parts: Record<string, number> = { composeUp: compose.ms, initUp: init.ms, formCluster: formMs, initStartup: init.ms - formMs }
    const seenAt = await watcher?.stop()
    if (seenAt !== undefined) parts.healthSeen = seenAt - started
    return { ms: compose.ms + init.ms, parts }
  } finally {
    await watcher?.stop()
  }
}

/**
 * Our cold `up`: from no processes and no data to full health, then an
 * independent health check. `nodesStarted` is when the first redis-server
 * started (from /proc, 10 ms resolution): what came before it is our scripts'
 * startup; the 2 s floor only starts counting there.
 */
export async function runOursCold(bench: BenchStack): Promise<UpSample> {
  await buildUpScripts()
  await localRuntime.stop(bench.stack, { purge: true })
  await waitPortsFree(bench.stack)
  const bootAtStart = uptimeSeconds()
  const sample = await runUpScripts(bench, { watch: true })
  const lag = await verifyHealthy(bench)
  const ms = sample.ms + lag
  const starts = (await localRuntime.ps(bench.stack)).map((n) => (n.pid ? processStartSeconds(n.pid) : undefined))
  const nodesStarted = starts.every((t) => t !== undefined) ? Math.max(0, (Math.min(...starts) - bootAtStart) * 1000) : Number.NaN
  return { ms, parts: { ...sample.parts, nodesStarted, nodesToHealthy: ms - nodesStarted, ...(lag > 0 ? { healthLag: lag } : {}) } }
}

/** Our warm `up`: both scripts against an already healthy cluster. */
export async function runOursWarm(bench: BenchStack): Promise<UpSample> {
  await ensureHealthy(bench)
  const sample = await runUpScripts(bench)
  await verifyHealthy(bench)
  return sample
}

/**
 * `pnpm run up` (pnpm → turbo, with its cached `build` task → per package
 * `pnpm run up` → the package's script) against the already healthy throwaway
 * stack: turbo passes RC_* and REDIS* through. The output must say nothing was started, or the env did not
 * reach the scripts and they acted on another stack.
 */
export async function runPnpmWarm(bench: BenchStack): Promise<UpSample> {
  await buildUpScripts() // so turbo's build task is a cache hit, not a rebuild after someone's edit
  await ensureHealthy(bench)
  const result = assertOk('pnpm run up', await runChild('pnpm', ['run', 'up'], { cwd: REPO_ROOT, env: { ...process.env, ...bench.env } }))
  if (!/already running/.test(result.stdout) || !/already formed/.test(result.stdout)) {
    throw new Error(`pnpm run up did not report a warm no-op on the bench stack:\n${result.stdout.trim().split('\n').slice(-6).join('\n')}`)
  }
  await verifyHealthy(bench)
  return { ms: result.ms, parts: {} }
}

async function ensureHealthy(bench: BenchStack): Promise<void> {
  const ps = await localRuntime.ps(bench.stack)
  if (ps.some((n) => n.state !== 'running')) await runUpScripts(bench)
  await verifyHealthy(bench)
}

/**
 * The bench's own check right after our scripts exit. Returns 0 when healthy at
 * once; otherwise waits and returns how long health took beyond the exit
 * (counted against us, and shown).
 */
async function verifyHealthy(bench: BenchStack): Promise<number> {
  const clients = await connectAll(bench.stack)
  try {
    const checked = performance.now()
    if ((await readProblems(clients, bench.stack.nodes.length / 2)).length === 0) return 0
    return (await waitHealthy(clients, bench.stack.nodes.length / 2, 10_000)) - checked
  } finally {
    disconnectAll(clients)
  }
}
