import { join } from 'node:path'
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

/** What `pnpm run up` runs (root package.json): the launcher, which runs init's bundled `up` script in its own process. */
const UP_COMMAND = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'init', 'up'] as const

/**
 * Runs `up` exactly as `pnpm run up` does, minus pnpm: `node scripts/run.mjs
 * init up FLAGS` from the repo root. The launcher rebuilds a stale bundle
 * first, so call buildUp() untimed before a timed run.
 */
export function runUp(bench: BenchStack, flags: readonly string[]): Promise<ChildResult> {
  return runChild(process.execPath, [...UP_COMMAND, ...flags], { cwd: REPO_ROOT, env: { ...process.env, ...bench.env } })
}

/** Brings the `up` bundle up to date with the sources (the launcher rebuilds it if stale), so the bench never times a rebuild. Untimed. */
export async function buildUp(): Promise<void> {
  assertOk('up --help', await runChild(process.execPath, [...UP_COMMAND, '--help'], { cwd: REPO_ROOT, env: process.env }))
}

export interface UpSample {
  readonly ms: number
  readonly parts: Record<string, number>
}

/**
 * One `up`, timed from spawn to exit. Parts: its in-process `formCluster`
 * time (from --json), the rest (process start, imports, config, starting the
 * nodes), and with `watch` when the bench's own health condition first held
 * (polled from when the command's nodes answer).
 */
async function runUpOnce(bench: BenchStack, { watch = false } = {}): Promise<UpSample> {
  const watcher = watch ? watchHealthy(bench.stack, bench.stack.nodes.length / 2) : undefined
  const started = performance.now()
  try {
    // --json instead of -q only to read the in-process elapsedMs; it renders a few hundred bytes at the end.
    const up = assertOk('up', await runUp(bench, ['--json']))
    const formCluster = Number((JSON.parse(up.stdout) as { elapsedMs: number }).elapsedMs)
    const parts: Record<string, number> = { up: up.ms, formCluster, beforeForm: up.ms - formCluster }
    const seenAt = await watcher?.stop()
    if (seenAt !== undefined) parts.healthSeen = seenAt - started
    return { ms: up.ms, parts }
  } finally {
    await watcher?.stop()
  }
}

/**
 * Our cold `up`: from no processes and no data to full health, then an
 * independent health check. `nodesStarted` is when the first redis-server
 * started (from /proc, 10 ms resolution): what came before it is our command's
 * startup; the 2 s floor only starts counting there.
 */
export async function runOursCold(bench: BenchStack): Promise<UpSample> {
  await buildUp()
  await localRuntime.stop(bench.stack, { purge: true })
  await waitPortsFree(bench.stack)
  const bootAtStart = uptimeSeconds()
  const sample = await runUpOnce(bench, { watch: true })
  const lag = await verifyHealthy(bench)
  const ms = sample.ms + lag
  const starts = (await localRuntime.ps(bench.stack)).map((n) => (n.pid ? processStartSeconds(n.pid) : undefined))
  const nodesStarted = starts.every((t) => t !== undefined) ? Math.max(0, (Math.min(...starts) - bootAtStart) * 1000) : Number.NaN
  return { ms, parts: { ...sample.parts, nodesStarted, nodesToHealthy: ms - nodesStarted, ...(lag > 0 ? { healthLag: lag } : {}) } }
}

/** Our warm `up` against an already healthy cluster. */
export async function runOursWarm(bench: BenchStack): Promise<UpSample> {
  await buildUp()
  await ensureHealthy(bench)
  const sample = await runUpOnce(bench)
  await verifyHealthy(bench)
  return sample
}

/**
 * `pnpm run up` (pnpm → scripts/run.mjs → init's bundled `up`) against the
 * already healthy throwaway stack. The output must say nothing was started, or
 * the env did not reach the command and it acted on another stack.
 */
export async function runPnpmWarm(bench: BenchStack): Promise<UpSample> {
  await buildUp()
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
  if (ps.some((n) => n.state !== 'running')) assertOk('up', await runUp(bench, ['-q']))
  await verifyHealthy(bench)
}

/**
 * The bench's own check right after our `up` exits. Returns 0 when healthy at
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
