import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Stack } from '@redis-cluster/core'
import { createExternalCluster, runCli, type ExternalNodes } from '@redis-cluster/test-utils'
import type { AofRewriteResult, BackupResult, DrillResult, Manifest } from '../src/index.ts'
import { flushMasters, snapshot, writeData } from './restore-fixtures.ts'

// Eight nodes, four masters, one per simulated host (127.0.0.2-9), all on one port, started and formed outside the
// toolkit: no six-node, spec-layout, node-file or redis-node-N assumption may hold here.
describe('backup, restore, drill and aof:rewrite on the external runtime (4 masters, 4 replicas)', () => {
  let cluster: ExternalNodes
  let stack: Stack
  let written: number
  let backup: BackupResult
  const names = () => stack.nodes.map((n) => n.name)
  beforeAll(async () => {
    cluster = await createExternalCluster({ masters: 4, replicas: 1 })
    stack = await cluster.load()
    written = await writeData(stack)
  }, 90_000)
  afterAll(() => cluster?.cleanup())

  it('backs up each of the 4 shards from a replica, names the nodes host:port in the manifest; verify, list and drill (PASS) find it', async () => {
    const run = await runCli('backup/backup', ['--json'], cluster.env)
    expect(run.exitCode, run.stderr).toBe(0)
    backup = JSON.parse(run.stdout)
    expect(backup.keys).toBe(written)
    expect(backup.shards).toHaveLength(4)
    const manifest: Manifest = JSON.parse(readFileSync(join(backup.dir, 'manifest.json'), 'utf8'))
    const masters = stack.nodes.filter((n) => n.role === 'master').map((n) => n.name)
    expect(manifest.shards.map((s) => s.master.name)).toEqual(masters)
    for (const shard of manifest.shards) {
      expect(shard.source.role).toBe('replica')
      expect(names()).toContain(shard.source.name)
      expect(shard.source.address).toBe(shard.source.name)
      expect(shard.replicas.map((r) => r.name)).toEqual([shard.source.name])
    }

    // verify, list and drill read only files (and a throwaway cluster): they work while the cluster is unreachable.
    const offline = { ...cluster.env, RC_SEEDS: `127.0.0.40:${cluster.port}` }
    const verify = await runCli('backup/backup-verify', ['latest'], offline)
    expect(verify.exitCode, verify.stderr).toBe(0)
    expect(verify.stdout).toBe(`${backup.dir}: good (${written} keys)\n`)
    const list = await runCli('backup/backup-list', [], offline)
    expect(list.exitCode, list.stderr).toBe(0)
    expect(list.stdout).toMatch(new RegExp(`^${backup.name} .* ${written} +good$`, 'm'))

    const drill = await runCli('backup/backup-drill', ['latest', '--json'], offline)
    expect(drill.exitCode, drill.stderr).toBe(0)
    const result: DrillResult = JSON.parse(drill.stdout)
    expect(result).toMatchObject({ pass: true, backup: { keys: written }, restored: { keys: written, sha256: result.backup.sha256 } })
    // The throwaway cluster took the backup's 4 shards (a master and a replica each), not the spec's 3.
    expect(result.ports).toHaveLength(8)
  }, 120_000)

  it('after FLUSHALL on every master, `restore --yes` chooses the logical restore, says why, and brings every key back', async () => {
    const before = await snapshot(stack)
    await flushMasters(stack)
    expect([...(await snapshot(stack)).values()].every((k) => k.type === 'none')).toBe(true)

    const run = await runCli('backup/restore', [backup.dir, '--yes'], cluster.env)
    expect(run.exitCode, run.stderr).toBe(0)
    const why = run.stderr.split('\n').filter((l) => l.startsWith('restore: '))
    expect(why).toEqual([
      "restore: logical (a physical restore is not possible here: a physical restore places files in the nodes' data dirs, which this toolkit cannot reach on the external runtime (it did not start the nodes))",
    ])
    expect(run.stdout).toMatch(new RegExp(`^restored ${written} of ${written} keys of ${backup.name} `, 'm'))

    const after = await snapshot(stack)
    for (const [key, state] of before) {
      const back = after.get(key)!
      expect({ key, type: back.type, value: back.value }).toEqual({ key, type: state.type, value: state.value })
      expect(back.pttl > 0, key).toBe(state.pttl > 0)
    }
  }, 60_000)

  it('`restore --physical` refuses with one line and exit 78, before --yes is even looked at; `--logical` plans onto the discovered nodes', async () => {
    for (const args of [['--physical', '--yes'], ['--physical']]) {
      const run = await runCli('backup/restore', [backup.dir, ...args], cluster.env)
      expect(run.exitCode).toBe(78)
      expect(run.stdout).toBe('')
      expect(run.stderr).toBe("restore: a physical restore places files in the nodes' data dirs, which this toolkit cannot reach on the external runtime (it did not start the nodes)\n  fix: use `pnpm restore --logical` (copies every key to its current owner)\n")
    }
    // --logical without --yes: the plan names the discovered nodes, nothing is done (2).
    const plan = await runCli('backup/restore', [backup.dir, '--logical'], cluster.env)
    expect(plan.exitCode).toBe(2)
    expect(plan.stderr).toContain(`restore: logical (--logical)\nwould restore backup ${backup.name} (${written} keys: shard-0.rdb`)
    expect(plan.stderr).toContain(`into the cluster at ${names().join(', ')}, key by key`)
  }, 30_000)

  it('aof:rewrite rewrites every node (AOF sizes from INFO), replicas first, one at a time', async () => {
    const run = await runCli('backup/aof-rewrite', ['--json'], cluster.env)
    expect(run.exitCode, run.stderr).toBe(0)
    const result: AofRewriteResult = JSON.parse(run.stdout)
    expect(result.ok).toBe(true)
    expect(new Set(result.nodes.map((n) => n.node))).toEqual(new Set(names()))
    expect(result.nodes.map((n) => n.role)).toEqual([...Array(4).fill('replica'), ...Array(4).fill('master')])
    for (const row of result.nodes) {
      expect(row.result).toBe('ok')
      expect(row.beforeBytes).toBeGreaterThan(0)
      expect(row.afterBytes).toBeGreaterThan(0)
      const master = stack.nodes.find((n) => n.name === row.node)!.role === 'master' ? row.node : stack.nodes[stack.nodes.find((n) => n.name === row.node)!.masterIndex!]!.name
      expect(row.shard).toBe(master)
    }
    // Never two at once: each one ended before the next began.
    for (const [i, row] of result.nodes.entries()) if (i > 0) expect(Date.parse(row.startedAt!)).toBeGreaterThanOrEqual(Date.parse(result.nodes[i - 1]!.endedAt!))

    const one = await runCli('backup/aof-rewrite', ['--node', names()[5]!], cluster.env)
    expect(one.exitCode, one.stderr).toBe(0)
    expect(one.stdout).toMatch(/AOF rewritten on 1 of 1 node\(s\)/)
  }, 90_000)

  // Last: it kills a node. Every node uses the same port, so a silent one is told apart by its host.
  it('a replica that does not answer is named by its address; the backup refuses (75) without it', async () => {
    const replica = stack.nodes.find((n) => n.role === 'replica' && n.masterIndex === 2)!
    process.kill(cluster.pid({ host: replica.host, port: replica.port }), 'SIGKILL')
    const run = await runCli('backup/backup', [], cluster.env)
    expect(run.exitCode).toBe(75)
    const master = stack.nodes[2]!.name
    expect(run.stderr).toMatch(new RegExp(`^backup: no caught-up replica to back up from: shard 2 \\(slots [\\d-]+, master ${master.replaceAll('.', '\\.')}\\): ${replica.name.replaceAll('.', '\\.')} does not answer\n`))
  }, 60_000)
})
