import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStack, REPO_ROOT, type TestStack } from '@redis-cluster/test-utils'

/** Runs a root pnpm command the way the README tells users to. */
function pnpm(args: string[], env: Record<string, string>) {
  const result = spawnSync('pnpm', args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' })
  return { exitCode: result.status ?? 1, stdout: result.stdout, stderr: result.stderr }
}

/** Lines only a task runner prints: turbo's banner, cache lines, summary and first-run telemetry notice. */
const RUNNER_LINES = /turbo|cache (hit|miss|bypass)|Tasks:|Cached:|telemetry|^\s*•/im

describe('pnpm run up / status / down', () => {
  let test: TestStack
  /** The stack's env, as on a fresh machine: an empty user config dir, where a task runner would print its first-run notices. */
  let env: Record<string, string>
  beforeAll(async () => {
    test = await createTestStack()
    env = { ...test.env, XDG_CONFIG_HOME: join(test.dir, 'user-config') }
  })
  afterAll(() => test?.cleanup())

  it('brings up a healthy cluster in one command: our lines only, progress on stderr; a no-op the second time; down keeps the data', { timeout: 180_000 }, () => {
    const up = pnpm(['run', 'up'], env)
    expect(up.exitCode, up.stdout + up.stderr).toBe(0)
    expect(up.stdout).toMatch(/^local: started redis-node-0, .*redis-node-5\n(redis-node-\d: .*\n|sent \d+ CLUSTER MEET\n)+cluster created; healthy: 6 nodes, 16384 slots ok, replicas in sync \(\d+\.\d\ds\)\n$/)
    expect(up.stderr).toMatch(/^starting redis-node-0, /m) // progress: stderr only
    expect(up.stdout + up.stderr).not.toMatch(RUNNER_LINES)

    const again = pnpm(['run', 'up'], env)
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toMatch(/^local: all 6 nodes already running\ncluster already formed; healthy/)
    expect(again.stderr).toBe('')

    const status = pnpm(['status', '--json'], env)
    expect(status.exitCode).toBe(0)
    expect(JSON.parse(status.stdout).ok).toBe(true) // stdout is only the JSON: no pnpm banner

    const down = pnpm(['run', 'down'], env)
    expect(down.exitCode).toBe(0)
    expect(down.stdout).toMatch(/stopped redis-node-0.*; data kept/)
  })

  it('--json: stdout is one JSON document with what was started and how the cluster was formed', { timeout: 180_000 }, () => {
    const up = pnpm(['run', 'up', '--json'], env)
    expect(up.exitCode, up.stderr).toBe(0)
    expect(up.stderr).toBe('')
    expect(JSON.parse(up.stdout)).toMatchObject({ runtime: 'local', started: expect.arrayContaining(['redis-node-0', 'redis-node-5']), action: 'existing', healthy: true, nodes: 6 })
  })

  it('-q prints nothing on success', { timeout: 180_000 }, () => {
    const up = pnpm(['run', 'up', '-q'], env)
    expect(up.exitCode, up.stderr).toBe(0)
    expect(up.stdout).toBe('')
    expect(up.stderr).toBe('')
  })

  it('--help prints one help text, and an unknown flag points to it (exit 2)', () => {
    const help = pnpm(['run', 'up', '--help'], env)
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toMatch(/^up: start the stack's nodes/)
    expect(help.stdout.match(/^usage:/gm)).toHaveLength(1)
    expect(help.stdout + help.stderr).not.toMatch(RUNNER_LINES)

    const bogus = pnpm(['run', 'up', '--bogus'], env)
    expect(bogus.exitCode).toBe(2)
    expect(bogus.stdout).toBe('')
    expect(bogus.stderr).toBe("up: Unknown option '--bogus'\n  fix: see `up --help`\n")
  })

  it('passes the exit code through pnpm (78 for a missing secret)', () => {
    const up = pnpm(['run', 'up'], { ...env, RC_PASSWORD_FILE: `${test.dir}/missing.txt` })
    expect(up.exitCode).toBe(78)
    expect(up.stdout).toBe('')
    expect(up.stderr).toMatch(/missing.txt is missing/)
  })

  it('never runs a stale bundle: a source changed since the build is rebuilt first', () => {
    expect(pnpm(['ps'], env).stdout).toMatch(/runtime: local/) // builds the bundle if needed
    const dist = join(REPO_ROOT, 'packages', 'compose', 'dist')
    const inputsFile = join(dist, '.inputs.json')
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8')) as Record<string, string>
    expect(Object.keys(inputs)).toContain('scripts/ps.ts')
    // What an edit of scripts/ps.ts after the build looks like to the launcher, with a bundle that would show it ran.
    writeFileSync(join(dist, 'ps.mjs'), "console.log('stale bundle')\n")
    writeFileSync(inputsFile, JSON.stringify({ ...inputs, 'scripts/ps.ts': 'hash of an older version' }))
    const ps = pnpm(['ps'], env)
    expect(ps.stdout).not.toMatch(/stale bundle/)
    expect(ps.stdout).toMatch(/runtime: local/)
    expect(JSON.parse(readFileSync(inputsFile, 'utf8'))['scripts/ps.ts']).toBe(inputs['scripts/ps.ts'])
  })
})
