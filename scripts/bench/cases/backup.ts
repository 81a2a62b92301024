import { copyFile, mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { localRuntime } from '../../../packages/compose/src/index.ts'
import { connectAll, connectCluster, parseInfo, waitForHealthy, type NodeClient } from '../../../packages/core/src/index.ts'
import { formCluster } from '../../../packages/init/src/index.ts'
import { createTestStack, REPO_ROOT } from '../../../packages/test-utils/src/index.ts'
import { checkRdb } from '../../../packages/backup/src/index.ts'
import { assertOk, onCleanup, runChild } from '../measure.ts'
import { scaled, seconds } from '../report.ts'
import type { BenchCase, Line, Medians, Sample } from '../types.ts'

/** ~1M small keys, ~333k per shard: the size. */
const KEYS = 999_999
const BACKUP = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'backup', 'backup'] as const
const RESTORE = [join(REPO_ROOT, 'scripts', 'run.mjs'), 'backup', 'restore'] as const
/** The target for the logical restore on this 2-core machine. */
const LOGICAL_KEYS_PER_SECOND = 150_000

export const backupCase: BenchCase = {
  name: 'backup',
  summary: '`pnpm backup` (3 parallel pulls from replicas + checks) against BGSAVE on each master in turn + cp + redis-check-rdb, 1M keys; and `pnpm restore --logical` of it (keys/s)',
  defaultRuns: 5,
  async prepare() {
    const { test, stack, clients, env } = await loadedStack(120_000)
    assertOk('backup --help', await runChild(process.execPath, [...BACKUP, '--help'], { cwd: REPO_ROOT, env })) // bundle built, untimed
    const ours = async (): Promise<Sample> => {
      const dir = join(test.dir, 'ours')
      const run = assertOk('backup', await runChild(process.execPath, [...BACKUP, '--json', '--dir', dir], { cwd: REPO_ROOT, env }))
      await rm(dir, { recursive: true, force: true })
      return { ms: run.ms, parts: { inProcess: JSON.parse(run.stdout).durationMs } }
    }
    // The backup the logical restore puts back each round (REPLACE: the same content again), taken untimed.
    const source = JSON.parse(assertOk('backup', await runChild(process.execPath, [...BACKUP, '--json', '--dir', join(test.dir, 'source')], { cwd: REPO_ROOT, env })).stdout).dir as string
    const logical = async (): Promise<Sample> => {
      const run = assertOk('restore --logical', await runChild(process.execPath, [...RESTORE, source, '--logical', '--yes', '--json'], { cwd: REPO_ROOT, env }))
      return { ms: run.ms, parts: { inProcess: JSON.parse(run.stdout).durationMs } }
    }
    return {
      variants: [
        { key: 'ours', label: 'ours (pnpm backup)', measure: ours },
        { key: 'manual', label: 'BGSAVE masters + cp + check', measure: () => manual(clients.slice(0, stack.nodes.length / 2), join(test.dir, 'manual')) },
        { key: 'logical', label: 'restore --logical', measure: logical },
      ],
      lines: backupLines,
    }
  },
}

/** A stack of its own (cleaned up with the bench), formed, holding `keys` keys, replicas caught up: untimed. */
export async function loadedStack(timeoutMs: number, keys = KEYS) {
  const test = await createTestStack({ env: { RC_TIMEOUT_MS: `${timeoutMs}` } })
  onCleanup(() => test.cleanup())
  const stack = test.load()
  await localRuntime.start(stack)
  await formCluster(stack, localRuntime)
  await load(stack, keys)
  const clients = await connectAll(stack)
  onCleanup(() => clients.forEach((c) => c.disconnect()))
  await waitForHealthy(stack, clients) // replicas caught up with the load
  return { test, stack, clients, env: { ...process.env, ...test.env } }
}

/** Writes `keys` string keys through a cluster client, 20k commands in flight at a time (untimed). */
async function load(stack: Parameters<typeof connectCluster>[0], keys: number): Promise<void> {
  const cluster = connectCluster(stack)
  try {
    for (let i = 0; i < keys; i += 20_000) {
      await Promise.all(Array.from({ length: Math.min(20_000, keys - i) }, (_, j) => cluster.set(`key:${i + j}`, `value-${i + j}`)))
    }
  } finally {
    cluster.disconnect()
  }
}

/** The standard manual sequence, as fast as it can be scripted: each master in turn BGSAVE, wait (10 ms polls), cp dump.rdb, redis-check-rdb. */
async function manual(masters: readonly NodeClient[], dir: string): Promise<Sample> {
  await mkdir(dir, { recursive: true })
  const parts = { bgsave: 0, cp: 0, check: 0 }
  const started = performance.now()
  for (const [i, client] of masters.entries()) {
    let at = performance.now()
    const saves = Number(parseInfo(await client.info('persistence')).rdb_saves)
    await client.bgsave()
    for (;;) {
      const info = parseInfo(await client.info('persistence'))
      if (info.rdb_bgsave_in_progress === '0' && Number(info.rdb_saves) > saves) break
      await new Promise((r) => setTimeout(r, 10))
    }
    parts.bgsave += performance.now() - at
    at = performance.now()
    const [, from] = (await client.config('GET', 'dir')) as [string, string]
    await copyFile(join(from, 'dump.rdb'), join(dir, `shard-${i}.rdb`))
    parts.cp += performance.now() - at
    at = performance.now()
    if (!(await checkRdb(join(dir, `shard-${i}.rdb`))).ok) throw new Error(`manual: shard ${i} RDB does not check`)
    parts.check += performance.now() - at
  }
  const ms = performance.now() - started
  await rm(dir, { recursive: true, force: true })
  return { ms, parts }
}

function backupLines(m: Medians): Line[] {
  const s = (key: string, part?: string) => seconds(m, key, part)
  return [
    {
      name: 'backup: ours / manual',
      value: m.ms('ours') / m.ms('manual'),
      range: m.ratioRange('ours', 'manual'),
      unit: 'x',
      detail: `ours ${s('ours')} (in process ${s('ours', 'inProcess')}), manual ${s('manual')} (BGSAVE+wait ${s('manual', 'bgsave')}, cp ${s('manual', 'cp')}, check ${s('manual', 'check')})`,
      target: { max: 0.6 },
    },
    { name: 'backup: ours', value: m.ms('ours') / 1000, range: scaled(m.range('ours'), 1000), unit: 's', detail: `${KEYS} keys, 3 shards, from spawn to exit` },
    {
      name: 'restore --logical (copy)',
      value: m.part('logical', 'inProcess') / 1000,
      range: scaled(m.range('logical', 'inProcess'), 1000),
      unit: 's',
      detail: `${Math.round(KEYS / (m.part('logical', 'inProcess') / 1000))} keys/s copying (target >= ${LOGICAL_KEYS_PER_SECOND}, i.e. the max here); ${s('logical')} from spawn to exit (verification included)`,
      target: { max: KEYS / LOGICAL_KEYS_PER_SECOND },
    },
  ]
}
