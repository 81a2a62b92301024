import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectNode, type StackNode } from '@redis-cluster/core'
import { createExternalCluster, runCli, type ExternalNodes } from '@redis-cluster/test-utils'
import { auditStack, type CheckResult } from '../src/index.ts'
import { clientPortsCheck } from '../src/client-ports-check.ts'
import { defaultUserCheck } from '../src/node-checks.ts'

describe('security:audit (external runtime)', () => {
  let cluster: ExternalNodes
  // 8 nodes on 127.0.0.2-9: no six-node assumption
  beforeAll(async () => {
    cluster = await createExternalCluster({ masters: 4, replicas: 1 })
  }, 120_000)
  afterAll(() => cluster?.cleanup())

  it('audits every discovered node; of the ports, each node\'s bind is what it can check, and it says so', async () => {
    const result = await runCli('security/security-audit', ['--json'], cluster.env)
    expect(result.exitCode, result.stderr).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ ok: false, runtime: 'external', nodes: 8 })
    expect(report.checks.filter((c: CheckResult) => c.status === 'FAIL').map((c: CheckResult) => c.id)).toEqual(['redis-version'])
    const ports = report.checks.find((c: CheckResult) => c.id === 'client-ports')
    expect(ports).toMatchObject({ status: 'PASS', detail: expect.stringContaining('(8 nodes)'), note: expect.stringMatching(/^external runtime: only each node's `bind` \(CONFIG GET\) is checked/) })
    expect(report.checks.find((c: CheckResult) => c.id === 'password-in-argv')).toMatchObject({ status: 'PASS', note: expect.stringMatching(/^external runtime: only the processes of the host running the audit/) })
    expect(`${result.stdout}${result.stderr}`).not.toContain(cluster.password)
    // one password, RC_USER=default: the cluster's users are not the toolkit's to judge
    for (const id of ['app-denied', 'acl-users', 'replication-user']) {
      expect(report.checks.find((c: CheckResult) => c.id === id)).toEqual({ id, title: expect.any(String), status: 'SKIP', detail: "external runtime: the cluster's users are its own (the toolkit knows only default's password), not the toolkit's declared ones" })
    }
    expect(result.stderr).toBe('')
  })

  it('default user (one password): FAIL when a node lets it in with nopass, PASS once the password is back', async () => {
    const stack = await cluster.load()
    const client = await connectNode(stack, stack.nodes[3]!)
    try {
      await client.call('ACL', 'SETUSER', 'default', 'nopass')
      try {
        expect((await auditStack(stack, [defaultUserCheck])).checks[0]).toMatchObject({ status: 'FAIL', detail: `${stack.nodes[3]!.name}: default user is on with nopass (anyone who connects is in)`, fix: expect.stringContaining('ACL SETUSER default resetpass') })
      } finally {
        await client.call('ACL', 'SETUSER', 'default', 'resetpass', `>${cluster.password}`)
      }
      expect((await auditStack(stack, [defaultUserCheck])).checks[0]).toMatchObject({ status: 'PASS', detail: 'default user has a password or is off on all 8 nodes' })
    } finally {
      client.disconnect()
    }
  })

  it('client ports: FAIL when a node binds more than the address it is dialled at, PASS once back', async () => {
    const stack = await cluster.load()
    const node: StackNode = stack.nodes.find((n) => n.host === '127.0.0.7')!
    const client = await connectNode(stack, node)
    try {
      await client.config('SET', 'bind', '127.0.0.7 127.0.0.90')
      try {
        const fail = (await auditStack(stack, [clientPortsCheck])).checks[0]
        expect(fail).toMatchObject({ status: 'FAIL', detail: `127.0.0.7:${cluster.port}: binds 127.0.0.90 (bind "127.0.0.7 127.0.0.90")` })
      } finally {
        await client.config('SET', 'bind', '127.0.0.7')
      }
      expect((await auditStack(stack, [clientPortsCheck])).checks[0]).toMatchObject({ status: 'PASS' })
    } finally {
      client.disconnect()
    }
  })
})
