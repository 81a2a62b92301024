import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connectNode } from '@redis-cluster/core'
import { createTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import { localRuntime } from '../src/index.ts'

/** Command lines of every process on the machine (what `ps` shows). */
function allCommandLines(): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')]
      } catch {
        return []
      }
    })
}

describe('local runtime', () => {
  let test: TestStack | undefined
  let blocker: Server | undefined
  afterEach(async () => {
    blocker?.close()
    blocker = undefined
    await test?.cleanup()
    test = undefined
  })

  it('starts six nodes with the password in no argv, and stops them keeping data', async () => {
    test = await createTestStack()
    const stack = test.load()
    const started = await localRuntime.start(stack)
    expect(started.started).toHaveLength(6)
    expect(allCommandLines().filter((c) => c.includes(test!.password))).toEqual([])
    expect(statSync(join(stack.nodes[0]!.dataDir, 'auth.conf')).mode & 0o077).toBe(0)
    expect((await localRuntime.ps(stack)).every((n) => n.state === 'running')).toBe(true)

    const again = await localRuntime.start(stack)
    expect(again).toMatchObject({ started: [], alreadyRunning: stack.nodes.map((n) => n.name) })

    const ps = await runCli('compose/ps', ['--json'], test.env)
    const listed = JSON.parse(ps.stdout)
    expect(listed.runtime).toBe('local')
    expect(listed.nodes.map((n: { state: string }) => n.state)).toEqual(Array(6).fill('running'))
    const cli = await runCli('compose/cli', ['--', '-p', `${stack.nodes[1]!.port}`, 'ping'], test.env)
    expect(cli).toMatchObject({ exitCode: 0, stdout: 'PONG\n' })
    const logs = await runCli('compose/logs', ['--node', '2', '-n', '2'], test.env)
    expect(logs.stdout).toMatch(/^==> redis-node-2 <==\n.*\n.*Ready to accept connections/)
    expect((await runCli('compose/logs', ['--node', 'redis-node-9'], test.env)).exitCode).toBe(2)

    const stopped = await localRuntime.stop(stack, { purge: false })
    expect(stopped.stopped).toHaveLength(6)
    expect((await localRuntime.ps(stack)).map((n) => n.state)).toEqual(Array(6).fill('stopped'))
  })

  it('names a port in use and its owner, starting nothing (exit 78)', async () => {
    test = await createTestStack()
    blocker = createServer()
    await new Promise<void>((resolve) => blocker!.listen(test!.ports[2], '127.0.0.1', resolve))
    const result = await runCli('init/up', [], test.env)
    expect(result.exitCode).toBe(78)
    expect(result.stderr).toMatch(new RegExp(`port ${test.ports[2]} \\(redis-node-2\\) is used by pid ${process.pid} \\(node\\)`))
    expect(result.stderr).toMatch(/fix: /)
    expect((await localRuntime.ps(test.load())).every((n) => n.state === 'absent')).toBe(true)
  })

  it('refuses a running node that has another password (exit 78)', async () => {
    test = await createTestStack()
    await localRuntime.start(test.load())
    writeFileSync(test.env.RC_PASSWORD_FILE!, 'another-password')
    const result = await runCli('init/up', [], test.env)
    expect(result.exitCode).toBe(78)
    expect(result.stderr).toMatch(/rejects the password in the secret file/)
    writeFileSync(test.env.RC_PASSWORD_FILE!, test.password) // so cleanup can stop them cleanly
  })

  it('reports a node that dies on start with the tail of its log (exit 78)', async () => {
    test = await createTestStack()
    const badConf = join(test.dir, 'bad.conf')
    writeFileSync(badConf, 'cluster-enabled yes\nno-such-directive 1\n')
    const result = await runCli('init/up', [], { ...test.env, RC_CONF_FILE: badConf })
    expect(result.exitCode).toBe(78)
    expect(result.stderr).toMatch(/exited on start .*no-such-directive/)
  })

  it('says how to install redis-server when it is missing (exit 78)', async () => {
    test = await createTestStack()
    const result = await runCli('init/up', [], { ...test.env, PATH: '/nonexistent' })
    expect(result.exitCode).toBe(78)
    expect(result.stderr).toMatch(/redis-server is not installed[\s\S]*apt-get install -y redis-server/)
  })

  it('needs a missing secret created first (exit 78), and rejects unknown flags (exit 2)', async () => {
    test = await createTestStack()
    const missing = await runCli('init/up', [], { ...test.env, RC_PASSWORD_FILE: join(test.dir, 'nope.txt') })
    expect(missing.exitCode).toBe(78)
    expect(missing.stderr.trim().split('\n')).toHaveLength(2) // the problem, then `fix:`
    expect(missing.stderr).toMatch(/nope.txt is missing/)
    const unknown = await runCli('init/up', ['--bogus'], test.env)
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toMatch(/Unknown option '--bogus'/)
  })

  it('down --purge needs --yes when nobody can answer, and keeps the data (exit 2)', async () => {
    test = await createTestStack()
    const stack = test.load()
    await localRuntime.start(stack)
    const client = await connectNode(stack, stack.nodes[0]!)
    await client.ping()
    client.disconnect()
    const refused = await runCli('compose/down', ['--purge'], test.env)
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/add --yes/)
    expect((await localRuntime.ps(stack)).every((n) => n.state === 'running')).toBe(true)
    const purged = await runCli('compose/down', ['--purge', '--yes', '--json'], test.env)
    expect(purged.exitCode).toBe(0)
    expect(JSON.parse(purged.stdout)).toMatchObject({ runtime: 'local', purged: true })
    expect((await localRuntime.ps(stack)).every((n) => n.state === 'absent')).toBe(true)
  })

  it('down names a paused node (SIGSTOP) at once instead of waiting out its deadline (exit 75)', async () => {
    test = await createTestStack()
    const stack = test.load()
    await localRuntime.start(stack)
    const pid = (await localRuntime.ps(stack)).find((n) => n.node === 'redis-node-2')!.pid!
    process.kill(pid, 'SIGSTOP')
    try {
      const down = await runCli('compose/down', [], test.env)
      expect(down.exitCode).toBe(75)
      expect(down.stderr).toMatch(new RegExp(`redis-node-2 \\(pid ${pid}\\) is paused .*\n  fix: resume it with \`kill -CONT ${pid}\``))
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    expect((await runCli('compose/down', [], test.env)).exitCode).toBe(0)
    expect((await localRuntime.ps(stack)).every((n) => n.state === 'stopped')).toBe(true)
  })
})
