import { spawn } from 'node:child_process'
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { applyAclEverywhere, connectNode, pendingSecretFile, userSecretFile, waitFor, type Stack } from '@redis-cluster/core'
import { runCli, useFormedStack } from '@redis-cluster/test-utils'
import { auditStack, type AuditCheck, type CheckResult } from '../src/index.ts'
import { aclUsersCheck, appDeniedCheck, keyOutside, replicationUserCheck } from '../src/acl-checks.ts'
import { argvCheck, secretFilesCheck } from '../src/host-checks.ts'
import { defaultUserCheck } from '../src/node-checks.ts'

describe('keyOutside()', () => {
  it('finds a key no pattern matches (Redis glob), none when one is `*`', () => {
    expect(keyOutside(['app:*'])).toBe('rc-audit:outside')
    expect(keyOutside(['rc-audit:*', 'app:*'])).toBe('~rc-audit~')
    expect(keyOutside(['rc-audit?outside', '[~]*'])).toBe('\u0001')
    expect(keyOutside(['*'])).toBeUndefined()
  })
})

describe('security:audit, ACL users (local runtime)', () => {
  const formed = useFormedStack()
  // whatever a test did to a node's ACL, the next one starts from the declaration
  afterEach(async () => {
    await onNodes('ACL', 'DELUSER', 'intruder')
    await applyAclEverywhere(formed.stack)
  })

  const audit = async (check: AuditCheck, on: Stack = formed.test.load()): Promise<CheckResult> => (await auditStack(on, [check])).checks[0]!
  /** Runs `command` as admin on the nodes named by index (default: all). */
  const onNodes = async (...command: string[]) => onNode([0, 1, 2, 3, 4, 5], ...command)
  const onNode = async (indexes: number[], ...command: string[]) => {
    for (const index of indexes) {
      const client = await connectNode(formed.stack, formed.stack.nodes[index]!)
      try {
        await client.call(command[0]!, ...command.slice(1))
      } finally {
        client.disconnect()
      }
    }
  }

  it('every ACL item passes on a fresh stack', async () => {
    const report = await auditStack(formed.test.load(), [defaultUserCheck, appDeniedCheck, aclUsersCheck, replicationUserCheck, secretFilesCheck])
    expect(report.checks.map((c) => [c.id, c.status, c.detail])).toEqual([
      ['default-user', 'PASS', 'default user off on all 6 nodes'],
      ['app-denied', 'PASS', 'app may run none of FLUSHALL, FLUSHDB, CONFIG, KEYS, DEBUG, SHUTDOWN, ACL, CLUSTER, MONITOR on all 6 nodes (ACL DRYRUN)'],
      ['acl-users', 'PASS', 'default, admin, app, replication, exporter, backup as declared on all 6 nodes, and no other user'],
      ['replication-user', 'PASS', 'masteruser replication on all 6 nodes'],
      ['secret-files', 'PASS', expect.stringMatching(/^admin\.txt, app\.txt, replication\.txt, exporter\.txt, backup\.txt, redis-node-0\/users\.acl, .*redis-node-5\/users\.acl: mode 0600, owner \d+:\d+$/)],
    ])
    expect(report.checks[1]!.note).toBe('RC_APP_KEY_PATTERN is `*` (the default): app may touch every key, as declared')
  })

  it('default user: FAIL when on without RC_DEFAULT_USER, or with nopass; PASS when off, or on with RC_DEFAULT_USER=1 and a password', async () => {
    await onNode([3], 'ACL', 'SETUSER', 'default', 'on', '>some-password')
    expect(await audit(defaultUserCheck)).toMatchObject({ status: 'FAIL', detail: 'redis-node-3: default user is on (RC_DEFAULT_USER is not set: it should be off)', fix: expect.stringContaining('`pnpm run up`') })
    await onNode([3], 'ACL', 'SETUSER', 'default', 'nopass')
    expect(await audit(defaultUserCheck)).toMatchObject({ status: 'FAIL', detail: 'redis-node-3: default user is on with nopass (anyone who connects is in)' })
    await applyAclEverywhere(formed.stack)
    expect(await audit(defaultUserCheck)).toMatchObject({ status: 'PASS', detail: 'default user off on all 6 nodes' })

    const withDefault = formed.test.load({ RC_DEFAULT_USER: '1' })
    await applyAclEverywhere(withDefault)
    expect(await audit(defaultUserCheck, withDefault)).toMatchObject({ status: 'PASS', detail: "default user on with the app user's password and rules (RC_DEFAULT_USER=1) on all 6 nodes" })
    // and the app items then hold `default` to the app's rules too
    await onNode([0], 'ACL', 'SETUSER', 'default', '+flushall')
    expect(await audit(appDeniedCheck, withDefault)).toMatchObject({ status: 'FAIL', detail: 'redis-node-0: default may run FLUSHALL' })
    await onNode([0], 'ACL', 'SETUSER', 'default', 'nopass')
    expect(await audit(defaultUserCheck, withDefault)).toMatchObject({ status: 'FAIL', detail: 'redis-node-0: default user is on with nopass (anyone who connects is in)' })
  })

  it('app denied: FAIL naming the node and command app may run, PASS once `up` re-applied the ACL', async () => {
    await onNode([2], 'ACL', 'SETUSER', 'app', '+flushall', '+config|get')
    const fail = await audit(appDeniedCheck)
    expect(fail).toMatchObject({ status: 'FAIL', detail: 'redis-node-2: app may run FLUSHALL, app may run CONFIG GET x', fix: expect.stringContaining('`pnpm run up`') })
    const up = await runCli('init/up', [], formed.test.env)
    expect(up.exitCode, up.stderr).toBe(0)
    expect(await audit(appDeniedCheck)).toMatchObject({ status: 'PASS' })
  })

  it('app denied: with RC_APP_KEY_PATTERN, FAIL while app reaches a key outside it, PASS once the ACL has the pattern', async () => {
    const patterned = formed.test.load({ RC_APP_KEY_PATTERN: 'app:* session:*' })
    // the nodes still have the default `~*`
    expect(await audit(appDeniedCheck, patterned)).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^redis-node-0: app reaches key "rc-audit:outside", outside RC_APP_KEY_PATTERN \(app:\* session:\*\); redis-node-1: /) })
    await applyAclEverywhere(patterned)
    const pass = await audit(appDeniedCheck, patterned)
    expect(pass).toMatchObject({ status: 'PASS', detail: expect.stringContaining(', nor key "rc-audit:outside" on all 6 nodes') })
    expect(pass.note).toBeUndefined()
  })

  it('permissions: FAIL naming user, node and the extra rule (command, key pattern, password, user), or a missing user; PASS after `up`', async () => {
    await onNode([1], 'ACL', 'SETUSER', 'exporter', '+keys')
    await onNode([3], 'ACL', 'SETUSER', 'replication', '+client|kill')
    await onNode([4], 'ACL', 'SETUSER', 'backup', '~backup:*', '>an-extra-password')
    await onNode([5], 'ACL', 'SETUSER', 'intruder', 'on', '>x', '+@all')
    const fail = await audit(aclUsersCheck)
    expect(fail.status).toBe('FAIL')
    expect(fail.detail.split('; ')).toEqual([
      'redis-node-1: exporter has +keys beyond its declaration',
      'redis-node-3: replication has +client|kill beyond its declaration',
      expect.stringMatching(/^redis-node-4: backup has #[0-9a-f]{12}\.\.\. \(a password not in its secret\) ~backup:\* beyond its declaration$/),
      'redis-node-5: undeclared user intruder',
    ])
    expect(fail.fix).toMatch(/^`pnpm run up` .*; an undeclared user: `ACL DELUSER <user>` then `ACL SAVE` on that node/)

    // app's rules read differently once changed (Redis rewrites them): the effect is what is compared
    await onNode([0], 'ACL', 'SETUSER', 'app', '+keys')
    expect((await audit(aclUsersCheck)).detail).toMatch(/^redis-node-0: app has \+keys beyond its declaration; /)

    await onNode([0, 1, 2, 3, 4, 5], 'ACL', 'DELUSER', 'intruder')
    const up = await runCli('init/up', [], formed.test.env)
    expect(up.exitCode, up.stderr).toBe(0)
    expect(await audit(aclUsersCheck)).toMatchObject({ status: 'PASS' })

    await onNode([3], 'ACL', 'DELUSER', 'exporter')
    expect(await audit(aclUsersCheck)).toMatchObject({ status: 'FAIL', detail: 'redis-node-3: exporter missing' })
  })

  it('permissions: narrower than declared is no hole: PASS with a note naming what is missing', async () => {
    await onNode([2], 'ACL', 'SETUSER', 'exporter', '-info')
    expect(await audit(aclUsersCheck)).toMatchObject({ status: 'PASS', note: expect.stringMatching(/^narrower than declared \(commands may fail\): redis-node-2: exporter lacks \+info; fix: `pnpm run up`/) })
  })

  it('replication: FAIL when a node\'s masteruser is not `replication`, PASS once re-applied', async () => {
    await onNode([4], 'CONFIG', 'SET', 'masteruser', 'admin')
    expect(await audit(replicationUserCheck)).toMatchObject({ status: 'FAIL', detail: 'redis-node-4: masteruser "admin"', fix: expect.stringContaining('`pnpm run up`') })
    await applyAclEverywhere(formed.stack)
    expect(await audit(replicationUserCheck)).toMatchObject({ status: 'PASS' })
  })

  it('secret files: FAIL on a loose user secret, pending .next or node ACL file, naming each; PASS at 0600 (an ACL file also in a 0700 directory)', async () => {
    const app = userSecretFile(join(formed.test.dir, 'secrets'), 'app')
    const next = pendingSecretFile(join(formed.test.dir, 'secrets'), 'backup')
    const aclFile = join(formed.stack.nodes[1]!.dataDir, 'users.acl')
    const nodeDir = dirname(aclFile)
    const dirMode = statSync(nodeDir).mode & 0o777
    writeFileSync(next, 'next-password', { mode: 0o644 })
    chmodSync(app, 0o640)
    chmodSync(aclFile, 0o644)
    chmodSync(nodeDir, 0o755)
    try {
      const fail = await audit(secretFilesCheck)
      expect(fail).toMatchObject({
        status: 'FAIL',
        detail: `${app}: mode 0640, owner ${process.getuid!()}:${process.getgid!()} (group ${process.getgid!()} can read the password); ${next}: mode 0644, owner ${process.getuid!()}:${process.getgid!()} (every user of this host can read the password); ${aclFile}: mode 0644, owner ${process.getuid!()}:${process.getgid!()} (every user of this host can read the password hashes)`,
        fix: `chmod 600 ${app} ${next} ${aclFile}`,
      })
      chmodSync(app, 0o600)
      chmodSync(next, 0o600)
      // Redis' ACL SAVE writes the file with its umask: a directory only its owner enters keeps it private
      chmodSync(nodeDir, 0o700)
      expect(await audit(secretFilesCheck)).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/redis-node-1\/users\.acl[^;]*: mode 0644, owner \d+:\d+ in a 0700 directory/) })
    } finally {
      chmodSync(nodeDir, dirMode)
      chmodSync(aclFile, 0o600)
      chmodSync(app, 0o600)
      rmSync(next, { force: true })
    }
    expect(await audit(secretFilesCheck)).toMatchObject({ status: 'PASS' })
  })

  it('argv: FAIL naming which user\'s password a process has in its argv (masked), not only the toolkit\'s', async () => {
    const appPassword = readFileSync(userSecretFile(join(formed.test.dir, 'secrets'), 'app'), 'utf8')
    // `; exit` keeps sh from exec'ing sleep: sh itself holds the password in its argv
    const leak = spawn('sh', ['-c', 'sleep 30; exit 0', 'leak', `--auth=${appPassword}`], { stdio: 'ignore' })
    const exited = new Promise((resolve) => leak.once('exit', resolve))
    try {
      await waitFor(async () => readFileSync(`/proc/${leak.pid}/cmdline`, 'utf8').includes(appPassword) || 'not yet exec\'d', { timeoutMs: 20_000, what: 'the leaking process to start' })
      const fail = await audit(argvCheck)
      expect(fail).toMatchObject({ status: 'FAIL', detail: `pid ${leak.pid} (sh -c sleep 30; exit 0 leak --auth=***) has the app user's password in its argv` })
    } finally {
      leak.kill('SIGKILL')
      await exited
    }
    expect(await audit(argvCheck)).toMatchObject({ status: 'PASS' })
  })

  it('an app client trying an admin command: exit 78, one line naming NOPERM and the command', async () => {
    const asApp = { ...formed.test.env, RC_USER: 'app', RC_PASSWORD_FILE: userSecretFile(join(formed.test.dir, 'secrets'), 'app') }
    const cli = await runCli('compose/cli', ['--', '-p', String(formed.stack.nodes[0]!.port), 'CONFIG', 'GET', 'maxmemory'], asApp)
    expect(cli.exitCode).toBe(78)
    expect(cli.stderr).toMatch(/^cli: redis-cli \(127\.0\.0\.1:\d+\) denies a command to this user: NOPERM .*'config\|get' command\n {2}fix: give the user the permission in the ACL, or run as another user \(RC_USER, RC_PASSWORD_FILE\)\n$/)
    const status = await runCli('monitor/status', [], asApp)
    expect(status.exitCode).toBe(78)
    expect(status.stderr).toMatch(/^status: redis-node-\d \(127\.0\.0\.1:\d+\) denies INFO to this user: NOPERM .*'info' command\n {2}fix: .*\n$/)
  })
})
