import { spawn } from 'node:child_process'
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { connectNode, waitFor } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { runCli, useFormedStack } from '@redis-cluster/test-utils'
import { auditStack, type AuditCheck, type CheckResult } from '../src/index.ts'
import { clientPortsCheck } from '../src/client-ports-check.ts'
import { argvCheck, secretFilesCheck } from '../src/host-checks.ts'
import { protectedModeCheck } from '../src/node-checks.ts'

describe('security:audit (local runtime)', () => {
  const formed = useFormedStack()

  const audit = async (check: AuditCheck): Promise<CheckResult> => (await auditStack(formed.test.load(), [check])).checks[0]!
  /** Runs `command` on one node with a connection of its own. */
  const onNode = async (index: number, ...command: string[]) => {
    const client = await connectNode(formed.stack, formed.stack.nodes[index]!)
    try {
      return await client.call(command[0]!, ...command.slice(1))
    } finally {
      client.disconnect()
    }
  }

  it('--json: every check passes on a fresh stack but the Redis version (Debian 7.0.x is in the list)', async () => {
    const result = await runCli('security/security-audit', ['--json'], formed.test.env)
    expect(result.exitCode, result.stderr).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ ok: false, runtime: 'local', nodes: 6, vulnerableList: { updated: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) } })
    expect(report.checks.map((c: CheckResult) => `${c.id} ${c.status}`)).toEqual([
      'default-user PASS',
      'app-denied PASS',
      'acl-users PASS',
      'replication-user PASS',
      'protected-mode PASS',
      'client-ports PASS',
      'tls SKIP',
      'password-in-argv PASS',
      'secret-files PASS',
      'redis-version FAIL',
    ])
    const version = report.checks.at(-1)
    expect(version.detail).toMatch(/^redis 7\.0\.\d+ on all 6 nodes: CVE-2025-49844 \(Lua use-after-free .*\), CVE-2025-46817, /)
    expect(version.fix).toMatch(/^upgrade Redis to 7\.2\.11 or later .*apt changelog redis-server/)
    expect(version.note).toMatch(/^the known-vulnerable list was last updated \d{4}-\d{2}-\d{2} \(\d+ days ago\)/)
    expect(`${result.stdout}${result.stderr}`).not.toContain(formed.test.password)
  })

  it('prints PASS/FAIL per check, fix under each FAIL, and when the version list was updated', async () => {
    const result = await runCli('security/security-audit', [], formed.test.env)
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toMatch(/^PASS {2}default-user +default user off on all 6 nodes$/m)
    expect(result.stdout).toMatch(/^FAIL {2}redis-version +redis 7\.0\.\d+ on all 6 nodes: CVE-2025-49844/m)
    expect(result.stdout).toMatch(/^ +fix: upgrade Redis to /m)
    expect(result.stdout).toMatch(/^ +note: the known-vulnerable list was last updated \d{4}-\d{2}-\d{2} \(\d+ days ago\); newer advisories are not in it$/m)
    expect(result.stdout).toMatch(/^audit FAILED: 1 of 10 checks, 1 skipped \(local runtime, 6 nodes\)$/m)
  })

  it('protected-mode: FAIL when a node has it off, PASS when back on', async () => {
    await onNode(1, 'CONFIG', 'SET', 'protected-mode', 'no')
    try {
      expect(await audit(protectedModeCheck)).toMatchObject({ status: 'FAIL', detail: 'redis-node-1: protected-mode no', fix: expect.stringContaining('CONFIG SET protected-mode yes') })
    } finally {
      await onNode(1, 'CONFIG', 'SET', 'protected-mode', 'yes')
    }
    expect(await audit(protectedModeCheck)).toMatchObject({ status: 'PASS' })
  })

  it('client ports: FAIL when a node binds an address it is not configured for, PASS on its configured bind', async () => {
    // another loopback address stands in for a wider one: tests never listen beyond 127.0.0.0/8
    await onNode(5, 'CONFIG', 'SET', 'bind', '127.0.0.1 127.0.0.77')
    try {
      expect(await audit(clientPortsCheck)).toMatchObject({ status: 'FAIL', detail: 'redis-node-5: binds 127.0.0.77 (bind "127.0.0.1 127.0.0.77")', fix: expect.stringContaining('CONFIG SET bind') })
    } finally {
      await onNode(5, 'CONFIG', 'SET', 'bind', '127.0.0.1')
    }
    const pass = await audit(clientPortsCheck)
    expect(pass).toMatchObject({ status: 'PASS' })
    expect(pass.note).toBeUndefined()
  })

  it('argv: FAIL naming the pid and command of a process with the password in its argv (masked), PASS once it is gone', async () => {
    // `; exit` keeps sh from exec'ing sleep: sh itself holds the password in its argv for 30 s
    const leak = spawn('sh', ['-c', 'sleep 30; exit 0', 'leak', `--password=${formed.test.password}`], { stdio: 'ignore' })
    const exited = new Promise((resolve) => leak.once('exit', resolve))
    try {
      await waitFor(async () => readFileSync(`/proc/${leak.pid}/cmdline`, 'utf8').includes(formed.test.password) || 'not yet exec\'d', { timeoutMs: 20_000, what: 'the leaking process to start' })
      const result = await runCli('security/security-audit', ['--json'], formed.test.env)
      const check = JSON.parse(result.stdout).checks.find((c: CheckResult) => c.id === 'password-in-argv')
      expect(check).toMatchObject({ status: 'FAIL', detail: `pid ${leak.pid} (sh -c sleep 30; exit 0 leak --password=***) has the password in its argv`, fix: expect.stringContaining('REDISCLI_AUTH') })
      expect(`${result.stdout}${result.stderr}`).not.toContain(formed.test.password)
    } finally {
      leak.kill('SIGKILL')
      await exited
    }
    const pass = await audit(argvCheck)
    expect(pass).toMatchObject({ status: 'PASS', detail: 'no process of this host has the password in its argv' })
    expect(pass.note).toBeUndefined()
  })

  it('secret file: FAIL on 0644 (and on 0640 group 999 outside compose) naming the chmod, PASS on 0600', async () => {
    const file = formed.stack.secretFile
    try {
      chmodSync(file, 0o644)
      expect(await audit(secretFilesCheck)).toMatchObject({ status: 'FAIL', detail: `${file}: mode 0644, owner ${process.getuid!()}:${process.getgid!()} (every user of this host can read the password)`, fix: `chmod 600 ${file}` })
      chownSync(file, process.getuid!(), 999)
      chmodSync(file, 0o640)
      expect(await audit(secretFilesCheck)).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('(group 999 can read the password)'), fix: `chmod 600 ${file}` })
    } finally {
      chmodSync(file, 0o600)
    }
    expect(await audit(secretFilesCheck)).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/mode 0600/) })
  })

  it('exits 78 when the secret holds another password, 75 when a node does not answer (it cannot judge what it cannot read)', async () => {
    writeFileSync(`${formed.test.dir}/wrong.txt`, 'not-the-password', { mode: 0o600 })
    const wrong = await runCli('security/security-audit', [], { ...formed.test.env, RC_PASSWORD_FILE: `${formed.test.dir}/wrong.txt` })
    expect(wrong.exitCode).toBe(78)
    expect(wrong.stderr).toMatch(/rejects the password in the secret file\n {2}fix: /)
    expect(wrong.stdout).toBe('')
    const [paused] = (await localRuntime.ps(formed.stack)).filter((n) => n.node === 'redis-node-2')
    process.kill(paused!.pid!, 'SIGSTOP')
    try {
      const result = await runCli('security/security-audit', ['--json'], formed.test.env)
      expect(result.exitCode).toBe(75)
      expect(result.stderr).toMatch(/redis-node-2/)
      expect(result.stdout).toBe('')
    } finally {
      process.kill(paused!.pid!, 'SIGCONT')
    }
  })
})
