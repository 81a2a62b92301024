import { parseArgs } from 'node:util'
import { RcError, TemporaryError, UsageError } from './errors.ts'
import { loadStack, type Stack } from './stack.ts'
import { discoverStack } from './discover.ts'
import { takeStackLock } from './lock.ts'
import { withRunContext } from './run-context.ts'
import { describeFsError } from './fs-errors.ts'
import { guardRun, untilStopped } from './_run-guard.ts'
import { loadZx } from './zx.ts'

export interface FlagSpec {
  type: 'string' | 'boolean'
  description: string
  short?: string
}

export interface ScriptContext<F> {
  stack: Stack
  args: F
  /** Arguments after the flags (only with `positionals` in the options). */
  positionals: string[]
  /** Progress for humans: stderr, silent under --quiet and --json. */
  progress: (line: string) => void
  /** Something the user should know even with --json (not with --quiet): stderr. */
  notice: (line: string) => void
  /** Aborted when the run must stop: its deadline passed, Ctrl-C, or a preempting `down`. Core's waits already obey it. */
  signal: AbortSignal
}

export interface RunScriptOptions<F extends Record<string, FlagSpec>, R> {
  name: string
  description: string
  flags?: F
  /** Accept arguments after the flags (or after `--`); this names them in --help. */
  positionals?: string
  /**
   * Take the stack lock for the whole run: every command that changes the
   * stack does; a second one exits 75 at once, naming the holder. `preempt`
   * (down) asks a holder to stop and waits for it instead.
   */
  lock?: true | 'preempt'
  run: (context: ScriptContext<FlagValues<F>>) => Promise<R>
  /** Human rendering of the result; JSON is the result itself. */
  render?: (result: R) => string
  /** Exit code for a result that is not a failure of the run itself, e.g. a check that found problems. */
  exitCode?: (result: R) => number
  /**
   * Runs until Ctrl-C or SIGTERM (`report:watch`): no overall deadline (each
   * network call keeps its own), and that stop is its normal end: `run` sees
   * `signal` abort and returns, and the command exits as `run` says.
   */
  endless?: true
  /**
   * A run of steps that may each take RC_TIMEOUT_MS (`chaos --all`: seven
   * drills): no overall deadline; `run` bounds each step with core's
   * withStepDeadline (work outside a step has only each call's own deadline).
   * Unlike `endless`, a stop is a failure, and settleOnStopMs applies.
   */
  stepDeadlines?: true
  /**
   * How long a stopped run (Ctrl-C, deadline) may go on to put things back
   * (a chaos drill restarting nodes), holding the lock, before the command
   * gives up on it. A second Ctrl-C still ends it at once.
   */
  settleOnStopMs?: number
  /**
   * false: hand `run` the stack as loaded, without reading the external
   * runtime's nodes from RC_SEEDS: commands that read only files
   * (`backup:list`, `backup:verify`, `backup:drill`: they work while that
   * cluster is unreachable) or whose nodes form no cluster yet
   * (`cluster:create`, nodes from its own flag).
   */
  discover?: false
  /**
   * false: load the stack without reading any user secret (`secrets:init`,
   * which creates them); `stack.password` is then empty and `stack.users`
   * undefined. Implies no discovery (that would need a password).
   */
  secrets?: false
}

export type FlagValues<F extends Record<string, FlagSpec>> = {
  [K in keyof F]: F[K]['type'] extends 'boolean' ? boolean | undefined : string | undefined
} & { json?: boolean; quiet?: boolean }

const COMMON_FLAGS = {
  json: { type: 'boolean', description: 'print the result as JSON' },
  quiet: { type: 'boolean', description: 'print nothing on success', short: 'q' },
  help: { type: 'boolean', description: 'show this help', short: 'h' },
} satisfies Record<string, FlagSpec>

const EXIT_HELP = 'exit codes: 0 ok, 1 failed, 2 usage, 75 busy or temporary (retry later), 78 configuration'

/**
 * The lifecycle of every command (after unjs/citty): parse flags and --help,
 * load the stack, take the lock, run, render; release in `finally`. The only
 * place that turns errors into output and exit codes. Sets process.exitCode
 * instead of exiting, so cleanup always runs.
 */
export async function runScript<F extends Record<string, FlagSpec>, R>(options: RunScriptOptions<F, R>): Promise<void> {
  const flags = { ...options.flags, ...COMMON_FLAGS } as Record<string, FlagSpec>
  const stop = new AbortController()
  const cleanups: (() => void)[] = []
  try {
    const { values: args, positionals } = parseFlags(flags, options)
    if (args.help) {
      process.stdout.write(helpText(options, flags))
      return
    }
    const quiet = Boolean(args.quiet || args.json)
    const stack = loadStack({ requireSecrets: options.secrets !== false })
    const notice = (line: string) => void (args.quiet || process.stderr.write(`${options.name}: note: ${line}\n`))
    stack.notices.forEach(notice)
    const timeoutMs = options.endless || options.stepDeadlines ? Infinity : stack.timeoutMs
    cleanups.push(guardRun(stop, { name: options.name, timeoutMs, watchAncestors: Boolean(options.lock) }))
    if (options.lock) cleanups.push((await lockStack(stack, options.name, options.lock, stop)).release)
    const progress = (line: string) => void (quiet || process.stderr.write(`${line}\n`))
    const context = { args: args as FlagValues<F>, positionals, progress, notice, signal: stop.signal }
    // the external runtime reads its nodes from the cluster: inside the run, so its deadline and Ctrl-C apply
    const run = withRunContext({ deadline: Date.now() + timeoutMs, signal: stop.signal }, async () => options.run({ ...context, stack: options.discover === false || options.secrets === false ? stack : await discoverStack(stack) }))
    const result = await (options.endless ? run : untilStopped(run, stop.signal, options.settleOnStopMs))
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else if (!args.quiet && options.render) process.stdout.write(`${options.render(result)}\n`)
    process.exitCode = options.exitCode?.(result) ?? 0
  } catch (error) {
    // A filesystem error no library mapped (a path we may not write, a full disk) is still the user's to fix.
    const described = describeFsError(error)
    process.stderr.write(await describeError(options.name, described))
    process.exitCode = described instanceof RcError ? described.exitCode : 1
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup()
    // A socket or child left open by a stopped run must not keep the process
    // alive (a cron job that never ends); a clean run exits before this fires.
    setTimeout(() => process.exit(), 2000).unref()
  }
}

/** The stack's one lock; its key names the stack (local data dir and compose project). */
function lockStack(stack: Stack, command: string, mode: true | 'preempt', stop: AbortController) {
  return takeStackLock(`${stack.dataDir}\0${stack.projectName}`, {
    command,
    preempt: mode === 'preempt',
    onPreempted: (by) => stop.abort(new TemporaryError(`stopped: \`${by.command}\` (pid ${by.pid}) took over the stack`, 'nothing is wrong with the stack; run the command again when that one finished')),
  })
}

function parseFlags(flags: Record<string, FlagSpec>, { name, positionals }: { name: string; positionals?: string }) {
  const argv = process.argv.slice(2)
  try {
    return parseArgs({
      // turbo and pnpm may hand a bare `--` through; it only matters where positionals are taken
      args: positionals ? argv : argv.filter((a) => a !== '--'),
      options: Object.fromEntries(Object.entries(flags).map(([k, f]) => [k, f.short ? { type: f.type, short: f.short } : { type: f.type }])),
      strict: true,
      allowPositionals: Boolean(positionals),
    })
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!, `see \`${name} --help\``)
  }
}

function helpText({ name, description, positionals }: { name: string; description: string; positionals?: string }, flags: Record<string, FlagSpec>): string {
  const rows = Object.entries(flags).map(([k, f]) => {
    const flag = `${f.short ? `-${f.short}, ` : '    '}--${k}${f.type === 'string' ? ' <value>' : ''}`
    return `  ${flag.padEnd(28)} ${f.description}`
  })
  const usage = `usage: ${name} [flags]${positionals ? ` [--] ${positionals}` : ''}`
  return `${name}: ${description}\n${usage}\n\nflags:\n${rows.join('\n')}\n\n${EXIT_HELP}\n`
}

/** One line naming the problem plus a `fix:` hint; a stack trace only for our own bugs. */
export async function describeError(name: string, error: unknown): Promise<string> {
  if (error instanceof RcError) return `${name}: ${error.message}\n${error.hint ? `  fix: ${error.hint}\n` : ''}`
  if (error instanceof (await loadZx()).ProcessOutput) {
    const tail = error.stderr.trim().split('\n').slice(-5).join('\n  ')
    return `${name}: command failed with exit code ${error.exitCode}${tail ? `:\n  ${tail}` : ''}\n`
  }
  const stack = error instanceof Error ? error.stack : String(error)
  return `${name}: internal error (please report it):\n${stack}\n`
}
