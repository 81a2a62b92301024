import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { composeUnavailable, createComposeTestStack, docker, runCli, type ComposeTestStack } from '@redis-cluster/test-utils'

// In compose the nodes know each other by their network addresses (172.19.0.x
// in the spec) while we dial the published 127.0.0.1 ports: replica lag and a
// silent node's role and shard come from the peers' view, matched by those addresses.
const unavailable = composeUnavailable()

describe.skipIf(Boolean(unavailable) && process.env.CI !== 'true')('report on the compose runtime', () => {
  let test: ComposeTestStack
  beforeAll(async () => {
    test = await createComposeTestStack()
  }, 60_000)
  afterAll(() => test?.cleanup(), 180_000)

  it('reports every node, replica lag from the master, and a stopped container as a row of its shard', { timeout: 240_000 }, async () => {
    const up = await runCli('init/up', ['-q'], test.env)
    expect(up.exitCode, up.stderr).toBe(0)
    const result = await runCli('monitor/report', ['--json'], test.env)
    expect(result.exitCode, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.complete).toBe(true)
    expect(report.shards.map((s: { shard: string; nodesUp: number }) => `${s.shard} ${s.nodesUp}`)).toEqual(['0-5460 2', '5461-10922 2', '10923-16383 2'])
    for (const replica of report.nodes.slice(3)) {
      expect(replica).toMatchObject({ role: 'replica', linkUp: true })
      expect(replica.master).toMatch(/^redis-node-[0-2]$/)
      expect(replica.lagBytes).toBeGreaterThanOrEqual(0)
    }

    const container = docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${test.project}`, '--filter', 'label=com.docker.compose.service=redis-node-5']).stdout.trim()
    expect(docker(['kill', container]).code).toBe(0)
    const down = await runCli('monitor/report', ['--json'], test.env)
    expect(down.exitCode).toBe(1)
    expect(JSON.parse(down.stdout).nodes[5]).toMatchObject({ node: 'redis-node-5', up: false, role: 'replica', shard: '10923-16383' })
  })
})
