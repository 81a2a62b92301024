import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster } from '@redis-cluster/core'
import { composeUnavailable, createComposeTestStack, runCli, type ComposeTestStack } from '@redis-cluster/test-utils'

// The backup dials only each node's host-side address, so it must work the
// same on the compose runtime, where that is the published 127.0.0.1 port.
const unavailable = composeUnavailable()

describe.skipIf(Boolean(unavailable) && process.env.CI !== 'true')('backup on the compose runtime', () => {
  let test: ComposeTestStack
  beforeAll(async () => {
    test = await createComposeTestStack()
  }, 60_000)
  afterAll(() => test?.cleanup(), 180_000)

  it('takes a verified backup of every shard from its replica', { timeout: 240_000 }, async () => {
    const up = await runCli('init/up', ['-q'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
    const cluster = connectCluster(test.load())
    try {
      await Promise.all(Array.from({ length: 500 }, (_, i) => cluster.set(`e2e:backup:${i}`, `${i}`)))
    } finally {
      cluster.disconnect()
    }
    const backup = await runCli('backup/backup', ['--json'], test.env)
    expect(backup.exitCode, backup.stderr).toBe(0)
    const manifest = JSON.parse(backup.stdout)
    expect(manifest.keys).toBe(500)
    expect(manifest.shards.map((s: { source: { name: string; role: string } }) => [s.source.name, s.source.role])).toEqual([
      ['redis-node-3', 'replica'],
      ['redis-node-4', 'replica'],
      ['redis-node-5', 'replica'],
    ])
    const verify = await runCli('backup/backup-verify', [manifest.dir], test.env)
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0)
  })
})
