import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connectNode, parseInfo, userSecretFile, type Stack, type UserName } from '@redis-cluster/core'
import { createTestStack, formTestStack, runCli, type TestStack } from '@redis-cluster/test-utils'

/** Runs one command as `user` on node 0 of the stack; resolves to the reply or the typed error's message. */
async function runAs(stack: Stack, user: UserName | 'default', password: string, ...command: string[]): Promise<unknown> {
  const client = await connectNode({ user, password, tls: stack.tls }, stack.nodes[0]!)
  try {
    return await client.call(command[0]!, ...command.slice(1))
  } catch (error) {
    return (error as Error).message
  } finally {
    client.disconnect()
  }
}

describe('ACL users', () => {
  let test: TestStack | undefined
  afterEach(async () => {
    await test?.cleanup()
    test = undefined
  })

  it('each purpose has its user: app is denied the dangerous commands, default is off, replicas sync as the replication user', async () => {
    test = await createTestStack()
    const stack = await formTestStack(test)
    const password = (user: UserName) => stack.users![user][0]!
    for (const command of [['FLUSHALL'], ['CONFIG', 'GET', 'maxmemory'], ['KEYS', '*'], ['ACL', 'LIST']]) {
      expect(await runAs(stack, 'app', password('app'), ...command)).toMatch(/denies .* to this user: NOPERM/)
    }
    // Our nodes refuse DEBUG to everyone (enable-debug-command no) before the ACL is asked: ask the ACL itself.
    expect(await runAs(stack, 'admin', stack.password, 'ACL', 'DRYRUN', 'app', 'DEBUG', 'SLEEP', '0')).toMatch(/no permissions to run the 'debug' command/)
    expect(await runAs(stack, 'app', password('app'), 'DBSIZE')).toBe(0)
    expect(await runAs(stack, 'exporter', password('exporter'), 'INFO', 'server')).toMatch(/redis_version/)
    expect(await runAs(stack, 'exporter', password('exporter'), 'GET', 'x')).toMatch(/NOPERM/)
    expect(await runAs(stack, 'backup', password('backup'), 'SET', 'x', '1')).toMatch(/NOPERM/)
    expect(await runAs(stack, 'replication', password('replication'), 'INFO')).toMatch(/NOPERM/)
    // `default` is off: a client that sends only a password is refused, whichever password it is.
    await expect(connectNode({ user: 'default', password: password('app'), tls: stack.tls }, stack.nodes[0]!)).rejects.toThrow(/rejects the password/)

    for (const node of stack.nodes.filter((n) => n.role === 'replica')) {
      const client = await connectNode(stack, node)
      try {
        expect(parseInfo(await client.info('replication')).master_link_status).toBe('up')
        expect(await client.config('GET', 'masteruser')).toEqual(['masteruser', 'replication'])
      } finally {
        client.disconnect()
      }
    }
    // Hashes only, on disk and in ACL LIST.
    const aclFile = readFileSync(join(stack.nodes[0]!.dataDir, 'users.acl'), 'utf8')
    for (const user of ['admin', 'app', 'replication', 'exporter', 'backup'] as const) expect(aclFile).not.toContain(password(user))
    expect(aclFile).toMatch(/^user admin on #[0-9a-f]{64} /m)
  })

  it('`up` re-applies the ACL to running nodes when the settings change, and says so only then', async () => {
    test = await createTestStack()
    const stack = await formTestStack(test)
    const narrowed = { ...test.env, RC_APP_KEY_PATTERN: 'app:*' }
    const up = await runCli('init/up', [], narrowed)
    expect(up.exitCode, up.stderr).toBe(0)
    expect(up.stdout).toMatch(/^ACL users re-applied and saved on redis-node-0, .*redis-node-5$/m)
    expect(await runAs(stack, 'app', stack.users!.app[0]!, 'GET', 'other')).toMatch(/NOPERM/)
    expect(readFileSync(join(stack.nodes[3]!.dataDir, 'users.acl'), 'utf8')).toMatch(/^user app on .*~app:\*/m)

    const again = await runCli('init/up', [], narrowed)
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).not.toMatch(/ACL/)
  })

  it('a missing user secret is refused naming its file (78); an older one-password checkout is told how to migrate', async () => {
    test = await createTestStack()
    const secretsDir = test.env.RC_SECRETS_DIR!
    rmSync(userSecretFile(secretsDir, 'exporter'))
    const missing = await runCli('init/up', [], test.env)
    expect(missing.exitCode).toBe(78)
    expect(missing.stderr).toBe(`up: password secret ${userSecretFile(secretsDir, 'exporter')} is missing\n  fix: run \`pnpm secrets:init\` to create the missing secrets (or copy secrets.example/)\n`)

    rmSync(join(secretsDir, 'users'), { recursive: true })
    writeFileSync(join(secretsDir, 'redis_password.txt'), 'the-old-one')
    const { RC_PASSWORD_FILE: _, ...withoutOwnFile } = test.env
    const legacy = await runCli('monitor/status', [], withoutOwnFile)
    expect(legacy.exitCode).toBe(78)
    expect(legacy.stderr).toMatch(/redis_password\.txt is the one password of an older version: run `pnpm secrets:init` \(admin keeps that password\), then `pnpm run down && pnpm run up`\n$/)
  })
})
