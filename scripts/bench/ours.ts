import { join } from 'node:path'
import { localRuntime } from '../../packages/compose/src/index.ts'
import type { Stack } from '../../packages/core/src/index.ts'
import { connectAll } from '../../packages/core/src/index.ts'
import { REPO_ROOT } from '../../packages/test-utils/src/index.ts'
import { disconnectAll, readProblems, waitHealthy } from './health.ts'
import { assertOk, runChild, type ChildResult } from './measure.ts'
import { waitPortsFree } from './ports.ts'
import { processStartSeconds, uptimeSeconds } from './proc.ts'

/** A throwaway stack: what a command needs in its environment, and the Stack it loads from that. */
export interface BenchStack {
  readonly env: Record<string, string>
  readonly stack: Stack
}

const SCRIPTS = {
  composeUp: 'packages/compose/scripts/up.ts',
  initUp: 'packages/init/scripts/up.ts',
} as const

/** Runs one package script exactly as turbo's task does, minus pnpm, turbo and the tsx CLI wrapper. */
export function runScriptFile(bench: BenchStack, file: string, args: readonly string[]): Promise<ChildResult> {
  const cwd = join(REPO_ROOT, file, '..', '..')
  return runChild(process.execPath, ['--import', 'tsx', join(REPO_ROOT, file), ...args], { cwd, env: { ...process.env, ...bench.env } })
}

export interface UpSample {
  readonly ms: number
  readonly parts: Record<string, number>
}

/** compose/up then init/up, timed from the first spawn to the second exit; `formMs` is init's own in-process time. */
async function runUpScripts(bench: BenchStack): Promise<UpSample> {
  const compose = assertOk('compose/scripts/up.ts', await runScriptFile(bench, SCRIPTS.composeUp, ['-q']))
  // --json instead of -q only to read init's in-process elapsedMs; it renders a few hundred bytes at the end.
  const init = assertOk('init/scripts/up.ts', await runScriptFile(bench, SCRIPTS.initUp, ['--json']))
  const formMs = Number((JSON.parse(init.stdout) as { elapsedMs: number }).elapsedMs)
  return { ms: compose.ms + init.ms, parts: { composeUp: compose.ms, initUp: init.ms, formCluster: formMs, initStartup: init.ms - formMs } }
}

/**
 * Our cold `up`: from no processes and no data to full health, then an
 * independent health check. `nodesStarted` is when the first redis-server
 * started (from /proc, 10 ms resolution): what came before it is our scripts'
 * startup; the 2 s floor only starts counting there.
 */
export async function runOursCold(bench: BenchStack): Promise<UpSample> {
  await localRuntime.stop(bench.stack, { purge: true })
  await waitPortsFree(bench.stack)
  const bootAtStart = uptimeSeconds()
  const sample = await runUpScripts(bench)
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
 * `pnpm run up` (pnpm → turbo → per package `pnpm run up` → tsx CLI → the
 * script) against the already healthy throwaway stack: turbo passes RC_* and
 * REDIS* through. The output must say nothing was started, or the env did not
 * reach the scripts and they acted on another stack.
 */
export async function runPnpmWarm(bench: BenchStack): Promise<UpSample> {
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
