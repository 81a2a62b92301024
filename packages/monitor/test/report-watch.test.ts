import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { localRuntime } from '@redis-cluster/compose'
import { createTestStack, REPO_ROOT, runCli, type TestStack } from '@redis-cluster/test-utils'

const WATCH = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'monitor', 'report-watch']
const TITLE = /report:watch every /g

/** A started watch: everything it printed so far, and its end. */
function startWatch(command: string, args: readonly string[], env: Record<string, string>) {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: 'pipe' }) as ChildProcessWithoutNullStreams
  const out = { stdout: '', stderr: '' }
  child.stdout.on('data', (d) => (out.stdout += d))
  child.stderr.on('data', (d) => (out.stderr += d))
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const frames = () => out.stdout.split(TITLE).slice(1)
  return { child, out, exit, frames }
}

describe('report:watch', () => {
  let test: TestStack
  const started: ChildProcessWithoutNullStreams[] = []
  beforeAll(async () => {
    test = await createTestStack()
    const up = await runCli('init/up', ['--json'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
  }, 60_000)
  afterEach(() => started.splice(0).forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')))
  afterAll(() => test?.cleanup())

  it('on a terminal 70 columns wide: fits it, draws on the alternate screen and restores the terminal on Ctrl-C (exit 0)', async () => {
    // `script` gives the watch a real pty; ^C typed into it is the terminal's own SIGINT to the foreground job.
    // `exec`: the watch replaces the shell, or a dash ($SHELL unset, as in CI) would itself die of that SIGINT (130).
    const command = `stty cols 70 && exec ${[process.execPath, ...WATCH, '--interval', '0.5'].map((a) => `'${a}'`).join(' ')}`
    const watch = startWatch('script', ['-qfec', command, '/dev/null'], test.env)
    started.push(watch.child)
    await expect.poll(() => watch.frames().length, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2)
    watch.child.stdin.write('\x03')
    expect(await watch.exit).toBe(0)
    const screen = watch.out.stdout
    expect(screen.indexOf('\x1b[?1049h\x1b[?25l')).toBeGreaterThanOrEqual(0) // alternate screen, cursor hidden
    expect(screen.indexOf('\x1b[?1049h')).toBeLessThan(screen.search(TITLE))
    expect(screen.lastIndexOf('\x1b[?25h\x1b[?1049l')).toBeGreaterThan(screen.lastIndexOf('report:watch every')) // restored after the last frame
    expect(screen).not.toMatch(/interrupted|internal error|stopped by/)
    const lastFrame = screen.slice(screen.lastIndexOf('report:watch every')).replace(/\x1b\[[?0-9;]*[a-zA-Z]/g, '').replace(/\r/g, '')
    expect(lastFrame).toMatch(/^hidden to fit 70 columns: /m)
    expect(Math.max(...lastFrame.split('\n').map((l) => l.length))).toBeLessThanOrEqual(70)
  }, 60_000)

  it('shows rates from the second refresh, a node going down within one refresh, and ends on SIGINT with exit 0', async () => {
    const watch = startWatch(process.execPath, [...WATCH, '--interval', '0.5'], test.env)
    started.push(watch.child)
    await expect.poll(() => watch.frames().length, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2)
    expect(watch.frames()[0]).toMatch(/rates from the next refresh/)
    expect(watch.frames()[1]).toMatch(/^SHARD +NODE +ROLE +KEYS +KEYS\/S .*OPS\/S/m)
    expect(watch.out.stdout).not.toMatch(/\x1b\[/) // not a terminal: no control sequences

    const [replica] = (await localRuntime.ps(test.load())).filter((n) => n.node === 'redis-node-4')
    const before = watch.frames().length
    process.kill(replica!.pid!, 'SIGKILL')
    // the refresh in flight at the kill may miss it; the next one starts after the kill and must show it
    await expect.poll(() => watch.frames().length, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(before + 2)
    const frame = watch.frames()[before + 1]!
    expect(frame).toMatch(/^ +redis-node-4 +down /m)
    expect(frame).toMatch(/^redis-node-4: is not running \(connection refused\)$/m)

    watch.child.kill('SIGINT')
    expect(await watch.exit).toBe(0)
    expect(watch.out.stderr).toBe('')
  }, 60_000)

  it('refuses a bad --interval and --json (exit 2)', async () => {
    const bad = await runCli('monitor/report-watch', ['--interval', '0'], test.env)
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/^report:watch: --interval 0: expected seconds, at least 0.2\n {2}fix: /)
    const json = await runCli('monitor/report-watch', ['--json'], test.env)
    expect(json.exitCode).toBe(2)
    expect(json.stderr).toMatch(/use `pnpm report --json`/)
  })
})
