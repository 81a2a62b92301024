import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Everything the bench starts is released here, once: on a normal end, on an
 * error and on Ctrl-C. After an abort no new process may start.
 */
const cleanups: (() => Promise<void> | void)[] = []
let aborted = false

/** Registers a release step; steps run newest first. Returns a function that runs it now (and only once). */
export function onCleanup(fn: () => Promise<void> | void): () => Promise<void> {
  let done = false
  const once = async () => {
    if (done) return
    done = true
    cleanups.splice(cleanups.indexOf(once), 1)
    await fn()
  }
  cleanups.push(once)
  return once
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.at(-1)!()
    } catch (error) {
      process.stderr.write(`bench: cleanup failed: ${(error as Error).message}\n`)
    }
  }
}

/** On SIGINT/SIGTERM/SIGHUP: stop starting things, release everything, exit 128+signal. */
export function cleanupOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      aborted = true
      process.stderr.write(`bench: ${signal}: stopping every process the bench started\n`)
      void runCleanups().finally(() => process.exit(128 + constants.signals[signal]))
    })
  }
}

export function isAborted(): boolean {
  return aborted
}

export function assertNotAborted(): void {
  if (aborted) throw new Error('aborted')
}

export interface ChildResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  /** Wall time from spawn to process exit. */
  readonly ms: number
}

export interface RunChildOptions {
  cwd: string
  env: NodeJS.ProcessEnv
}

/** Runs a command to its exit, timing it; killed with its process group if the bench is interrupted meanwhile. */
export function runChild(command: string, args: readonly string[], { cwd, env }: RunChildOptions): Promise<ChildResult> {
  assertNotAborted()
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let exitedAt = 0
    // Its own process group, so an abort reaches what it started too: `sh -c CMD` (dash) does not exec CMD nor pass a signal on.
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const exited = new Promise<void>((done) => child.once('exit', () => done()))
    // On abort: SIGTERM to the group and wait for the exit, so what it started (pidfiles) is there for the next cleanup step.
    const release = onCleanup(async () => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        process.kill(child.pid, 'SIGTERM')
      }
      await Promise.race([exited, sleep(5000)])
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', () => (exitedAt = performance.now()))
    child.on('error', (error) => void release().finally(() => reject(error)))
    child.on('close', (code, signal) => {
      void release()
      resolve({ exitCode: code ?? (signal ? 128 + constants.signals[signal] : 1), stdout, stderr, ms: (exitedAt || performance.now()) - started })
    })
  })
}

/** Fails with the command's output tail when it did not exit 0. */
export function assertOk(what: string, result: ChildResult): ChildResult {
  if (result.exitCode === 0) return result
  const tail = `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-6).join('\n  ')
  throw new Error(`${what} exited ${result.exitCode}:\n  ${tail}`)
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Lowest and highest of the values (NaN for none). */
export function range(values: readonly number[]): { min: number; max: number } {
  return values.length === 0 ? { min: Number.NaN, max: Number.NaN } : { min: Math.min(...values), max: Math.max(...values) }
}
