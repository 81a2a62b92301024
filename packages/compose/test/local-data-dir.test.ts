import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'
import { findPortOwner, isPortFree, localRuntime } from '../src/index.ts'

/**
 * Makes `dir` unwritable even for root, which ignores mode bits: the
 * immutable flag, or where the filesystem has none (overlayfs) a read-only
 * bind mount. Returns the undo.
 */
function makeUnwritable(dir: string): () => void {
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o500)
    return () => chmodSync(dir, 0o700)
  }
  if (spawnSync('chattr', ['+i', dir]).status === 0) return () => void spawnSync('chattr', ['-i', dir])
  if (spawnSync('mount', ['--bind', '-o', 'ro', dir, dir]).status === 0) return () => void spawnSync('umount', [dir])
  throw new Error(`cannot make ${dir} unwritable for root here (no chattr +i, no bind mount)`)
}

/** Kills what `down` should have stopped: redis-servers working in the test's dir, found by their ports. */
function killStrays(test: TestStack): void {
  for (const node of test.load().nodes) {
    const pid = Number(/^pid (\d+)/.exec(findPortOwner(node.port) ?? '')?.[1])
    try {
      if (pid && readlinkSync(`/proc/${pid}/cwd`).startsWith(test.dir)) process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
}

describe('local runtime and its data dir', () => {
  let test: TestStack | undefined
  let undo: (() => void) | undefined
  afterEach(async () => {
    undo?.()
    undo = undefined
    if (test) killStrays(test)
    await test?.cleanup()
    test = undefined
  })

  it('refuses a node whose dir cannot be written, starting nothing (exit 78)', async () => {
    test = await createTestStack()
    const stack = test.load()
    await localRuntime.start(stack)
    await localRuntime.stop(stack, { purge: false })
    const node = stack.nodes[2]!
    undo = makeUnwritable(node.dataDir) // its files from the first start are still writable: Redis would start

    const up = await runCli('init/up', [], test.env)
    expect(up.exitCode, up.stderr).toBe(78)
    expect(up.stderr).toMatch(new RegExp(`^up: cannot open ${node.dataDir}/\\S+: permission denied \\(E(PERM|ACCES)\\)\n  fix: .*${node.dataDir}.*chattr -i.*RC_DATA_DIR`))
    expect(up.stderr.trim().split('\n')).toHaveLength(2)
    for (const n of stack.nodes) expect(await isPortFree(n.port), n.name).toBe(true)

    undo()
    undo = undefined
    expect((await runCli('init/up', [], test.env)).exitCode).toBe(0)
  })

  it('knows, stops and does not restart a node whose own pid file Redis could not write', async () => {
    test = await createTestStack()
    const stack = test.load()
    const node = stack.nodes[2]!
    mkdirSync(join(node.dataDir, 'redis.pid'), { recursive: true }) // Redis skips its pidfile with a log line

    expect((await runCli('init/up', [], test.env)).exitCode).toBe(0)
    const owner = findPortOwner(node.port)
    expect(owner).toMatch(/^pid \d+ \(redis-server\)$/)
    // soft: each of these failed on its own before we wrote our own pid file
    const ps = JSON.parse((await runCli('compose/ps', ['--json'], test.env)).stdout)
    expect.soft(ps.nodes[2]).toMatchObject({ node: node.name, state: 'running', pid: Number(/\d+/.exec(owner!)![0]) })

    const again = await runCli('init/up', [], test.env)
    expect.soft(again.exitCode, again.stderr).toBe(0)
    expect.soft(again.stdout).toMatch(/all 6 nodes already running/)

    const down = await runCli('compose/down', ['--json'], test.env)
    expect.soft(down.exitCode, down.stderr).toBe(0)
    expect.soft(JSON.parse(down.stdout).stopped).toContain(node.name)
    for (const n of stack.nodes) expect.soft(await isPortFree(n.port), n.name).toBe(true)
  })

  it('down names a node that cannot save and so does not stop (exit 78), and stops it once it can', async () => {
    test = await createTestStack()
    const stack = test.load()
    await localRuntime.start(stack)
    const node = stack.nodes[2]!
    undo = makeUnwritable(node.dataDir)

    const down = await runCli('compose/down', [], test.env)
    expect(down.exitCode, down.stderr).toBe(78)
    expect(down.stderr).toMatch(
      new RegExp(`^down: redis-node-2 \\(pid \\d+\\) cannot save its data, so it does not stop: Failed opening the temp RDB file .*\n  fix: let it write ${node.dataDir} .*shutdown nosave\n$`),
    )
    for (const n of stack.nodes) expect(await isPortFree(n.port), n.name).toBe(n !== node)

    undo()
    undo = undefined
    const again = await runCli('compose/down', ['--json'], test.env)
    expect(again.exitCode, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).stopped).toEqual([node.name])
  })

  it('names RC_DATA_DIR when it is a file (exit 78)', async () => {
    test = await createTestStack()
    const file = join(test.dir, 'not-a-dir')
    writeFileSync(file, '')
    const up = await runCli('init/up', [], { ...test.env, RC_DATA_DIR: file })
    expect(up.exitCode, up.stderr).toBe(78)
    expect(up.stderr).toBe(
      `up: cannot create ${file}/redis-node-0: ${file} is a file, not a directory\n  fix: move ${file} away, or point RC_DATA_DIR at another directory\n`,
    )
  })

  it('names RC_DATA_DIR when it cannot be written (exit 78)', async () => {
    test = await createTestStack()
    const dir = join(test.dir, 'read-only')
    mkdirSync(dir)
    undo = makeUnwritable(dir)
    const up = await runCli('init/up', [], { ...test.env, RC_DATA_DIR: dir })
    expect(up.exitCode, up.stderr).toBe(78)
    expect(up.stderr).toMatch(new RegExp(`^up: cannot create ${dir}/redis-node-0: permission denied \\(E(PERM|ACCES)\\)\n  fix: let this user write to ${dir} .*RC_DATA_DIR`))
  })
})
