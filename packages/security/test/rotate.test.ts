import { chmodSync, chownSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONTAINER_UID, ConfigError, asUser, connectCluster, connectNode, parseInfo, passwordHash, pendingSecretFile, userSecretFile, waitForHealthy, waitFor, type UserName } from '@redis-cluster/core'
import { composeAclFile, localRuntime, writeComposeAclFile } from '@redis-cluster/compose'
import { missingWrites, runCli, startWriter, useFormedStack } from '@redis-cluster/test-utils'
import { rotatePassword } from '../src/index.ts'

describe('secrets:rotate (local runtime)', () => {
  const formed = useFormedStack()

  const rotate = (...args: string[]) => runCli('security/secrets-rotate', args, formed.test.env)
  const secretOf = (user: UserName) => readFileSync(userSecretFile(formed.stack.secretsDir, user), 'utf8')
  const pendingOf = (user: UserName) => pendingSecretFile(formed.stack.secretsDir, user)
  /** Logs in as `user` on one node: true, or false when the password is refused (anything else fails the test). */
  const logsIn = async (user: UserName, password: string, index: number) => {
    const client = await connectNode({ user, password, tls: formed.stack.tls }, formed.stack.nodes[index]!).catch((error: unknown) => {
      if (error instanceof ConfigError) return undefined
      throw error
    })
    client?.disconnect()
    return client !== undefined
  }
  const logsInEverywhere = async (user: UserName, password: string) => Promise.all(formed.stack.nodes.map((_, i) => logsIn(user, password, i)))
  /** Runs an admin command on one node (as admin, with the secret as it is now). */
  const onNode = async (index: number, ...command: string[]) => {
    const client = await connectNode(formed.test.load(), formed.stack.nodes[index]!)
    try {
      return await client.call(command[0]!, ...command.slice(1))
    } finally {
      client.disconnect()
    }
  }

  it('refuses an unknown or missing user with 2, naming the choices', async () => {
    const unknown = await rotate('root')
    expect(unknown.exitCode, unknown.stderr).toBe(2)
    expect(unknown.stderr).toContain("unknown user 'root'")
    expect(unknown.stderr).toContain('use one of admin, app, replication, exporter, backup')
    expect((await rotate()).exitCode).toBe(2)
  })

  it('rotates app under a writer that authenticates as app: no write fails, both passwords log in until it finishes, then only the new one', async () => {
    const old = secretOf('app')
    const oldApp = connectCluster(asUser(formed.test.load(), 'app'))
    const writer = startWriter(oldApp, 'rot-old')
    let newApp: ReturnType<typeof connectCluster> | undefined
    try {
      const kept = await rotate('app', '--keep-old', '--json')
      expect(kept.exitCode, kept.stderr).toBe(0)
      expect(JSON.parse(kept.stdout)).toMatchObject({ user: 'app', outcome: 'pending', resumed: false })
      const next = readFileSync(pendingOf('app'), 'utf8')
      expect(next).toMatch(/^[\w-]{32}$/)
      expect(secretOf('app')).toBe(old)
      // New connections while both are accepted: the old password (apps not moved yet) and the new one.
      expect(await logsInEverywhere('app', old)).toEqual([true, true, true, true, true, true])
      expect(await logsInEverywhere('app', next)).toEqual([true, true, true, true, true, true])
      // An app that moved to the new password writes too, while the old client keeps writing.
      newApp = connectCluster({ ...formed.test.load(), user: 'app', password: next })
      const movedWriter = startWriter(newApp, 'rot-new')
      const finished = await rotate('app')
      expect(finished.exitCode, finished.stderr).toBe(0)
      expect(finished.stdout).toContain("app's password rotated (an interrupted rotation finished)")
      expect(finished.stdout).toContain('applications read')
      for (const secret of [old, next]) expect(`${kept.stdout}${kept.stderr}${finished.stdout}${finished.stderr}`).not.toContain(secret)
      const acked = new Map([...(await writer.stop()), ...(await movedWriter.stop())])
      expect([...writer.failures, ...movedWriter.failures]).toEqual([])
      expect(acked.size).toBeGreaterThan(0)
      expect(await missingWrites(newApp, acked)).toEqual([])
      expect(await logsInEverywhere('app', old)).toEqual([false, false, false, false, false, false])
      expect(await logsInEverywhere('app', next)).toEqual([true, true, true, true, true, true])
      expect(secretOf('app')).toBe(next)
      expect(existsSync(pendingOf('app'))).toBe(false)
      expect(statSync(userSecretFile(formed.stack.secretsDir, 'app')).mode & 0o777).toBe(0o600)
      // Persisted: each node's ACL file (ACL SAVE) has only the new hash.
      const aclFile = readFileSync(`${formed.stack.nodes[0]!.dataDir}/users.acl`, 'utf8')
      expect(aclFile).toContain(passwordHash(next))
      expect(aclFile).not.toContain(passwordHash(old))
    } finally {
      await writer.stop()
      oldApp.disconnect()
      newApp?.disconnect()
    }
  })

  it('rotates replication: masterauth moves, replicas stay linked, and a replica restarted afterwards syncs with the new password', async () => {
    // A compose stack's ACL file (what a restarted container loads) follows the rotation.
    await writeComposeAclFile(formed.stack)
    const old = secretOf('replication')
    const result = await rotate('replication')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toContain('masterauth is the new password')
    const next = secretOf('replication')
    expect(((await onNode(0, 'CONFIG', 'GET', 'masterauth')) as string[])[1]).toBe(next)
    const aclFile = readFileSync(composeAclFile(formed.stack), 'utf8')
    expect(aclFile).toContain(`#${passwordHash(next)}`)
    expect(aclFile).not.toContain(`#${passwordHash(old)}`)
    const replica = formed.stack.nodes.find((n) => n.role === 'replica')!
    const linkOf = async () => parseInfo((await onNode(replica.index, 'INFO', 'replication')) as string).master_link_status
    expect(await linkOf()).toBe('up')
    await localRuntime.fault(formed.test.load(), [replica], 'restart')
    await waitFor(async () => (await linkOf()) === 'up' || `master_link_status ${await linkOf()}`, { timeoutMs: 30_000, what: `${replica.name} to sync with its master` })
    await waitForHealthy(formed.test.load(), undefined, { timeoutMs: 30_000 })
  })

  it('rotates admin (the toolkit itself), then `status` works with the new secret and the old admin password is refused', async () => {
    const old = secretOf('admin')
    const result = await rotate('admin')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toContain('this toolkit authenticates as admin')
    const status = await runCli('monitor/status', [], formed.test.env)
    expect(status.exitCode, status.stderr).toBe(0)
    expect(await logsInEverywhere('admin', old)).toEqual([false, false, false, false, false, false])
  })

  it('finishes an interrupted rotation (new password on some nodes, old already removed on one) by running again', async () => {
    const old = secretOf('backup')
    const next = 'interrupted-rotation-new-password'
    writeFileSync(pendingOf('backup'), next, { mode: 0o600 })
    for (const i of [0, 1, 2]) await onNode(i, 'ACL', 'SETUSER', 'backup', `>${next}`)
    await onNode(0, 'ACL', 'SETUSER', 'backup', `<${old}`)
    const result = await rotate('backup', '--json')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ user: 'backup', outcome: 'rotated', resumed: true })
    expect(await logsInEverywhere('backup', next)).toEqual([true, true, true, true, true, true])
    expect(await logsInEverywhere('backup', old)).toEqual([false, false, false, false, false, false])
    expect(secretOf('backup')).toBe(next)
    expect(existsSync(pendingOf('backup'))).toBe(false)
  })

  it('--rollback undoes a pending rotation, even where the old password was already removed', async () => {
    const old = secretOf('exporter')
    // A compose secret's mode and group (the containers' redis user reads it), which `.next` must copy; chown needs root.
    const secret = userSecretFile(formed.stack.secretsDir, 'exporter')
    if (process.getuid?.() === 0) chownSync(secret, -1, CONTAINER_UID)
    chmodSync(secret, 0o640)
    const kept = await rotate('exporter', '--keep-old')
    expect(kept.exitCode, kept.stderr).toBe(0)
    const next = readFileSync(pendingOf('exporter'), 'utf8')
    expect(statSync(pendingOf('exporter'))).toMatchObject({ mode: statSync(secret).mode, gid: statSync(secret).gid })
    await onNode(1, 'ACL', 'SETUSER', 'exporter', `<${old}`)
    const rolledBack = await rotate('exporter', '--rollback')
    expect(rolledBack.exitCode, rolledBack.stderr).toBe(0)
    expect(rolledBack.stdout).toContain("exporter's rotation rolled back")
    expect(await logsInEverywhere('exporter', old)).toEqual([true, true, true, true, true, true])
    expect(await logsInEverywhere('exporter', next)).toEqual([false, false, false, false, false, false])
    expect(existsSync(pendingOf('exporter'))).toBe(false)
    expect(secretOf('exporter')).toBe(old)
    const again = await rotate('exporter', '--rollback')
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('nothing to roll back for exporter')
  })

  it('a node that is down: 75 before anything changes', async () => {
    const node = formed.stack.nodes.at(-1)!
    await localRuntime.stop({ ...formed.test.load(), nodes: [node] }, { purge: false })
    try {
      const result = await rotate('app')
      expect(result.exitCode, result.stderr).toBe(75)
      expect(result.stderr).toContain(`${node.name} (127.0.0.1:${node.port}) is not running`)
      expect(existsSync(pendingOf('app'))).toBe(false)
    } finally {
      await localRuntime.start(formed.test.load())
    }
    await waitForHealthy(formed.test.load(), undefined, { timeoutMs: 30_000 })
  })

  it("a user's secret missing: 78 naming the file", async () => {
    const file = userSecretFile(formed.stack.secretsDir, 'backup')
    renameSync(file, `${file}.away`)
    try {
      const result = await rotate('backup')
      expect(result.exitCode, result.stderr).toBe(78)
      expect(result.stderr).toContain(`password secret ${file} is missing`)
    } finally {
      renameSync(`${file}.away`, file)
    }
  })

  it('a secret every user can read: warned on every command, and rotating it is refused (78) so the new password does not leak too', async () => {
    const file = userSecretFile(formed.stack.secretsDir, 'backup')
    chmodSync(file, 0o644)
    try {
      const result = await rotate('backup')
      expect(result.exitCode, result.stderr).toBe(78)
      expect(result.stderr).toContain(`note: ${file} is readable by every user of this host (mode 0644): chmod 600 it`)
      expect(result.stderr).toContain(`${file} is readable by every user of this host (mode 0644): the new password would be as readable\n  fix: chmod 600 ${file}`)
      expect(existsSync(pendingOf('backup'))).toBe(false)
    } finally {
      chmodSync(file, 0o600)
    }
  })

  it('a pending rotation whose new password is unusable: 78 naming the file and the way out', async () => {
    writeFileSync(pendingOf('backup'), '', { mode: 0o600 })
    try {
      const result = await rotate('backup')
      expect(result.exitCode, result.stderr).toBe(78)
      expect(result.stderr).toContain(`password secret ${pendingOf('backup')} is empty`)
      expect(result.stderr).toContain('secrets:rotate backup --rollback')
      expect((await rotate('backup', '--rollback')).exitCode).toBe(0)
      expect(existsSync(pendingOf('backup'))).toBe(false)
    } finally {
      rmSync(pendingOf('backup'), { force: true })
    }
  })

  it('the external runtime (no ACL users of ours): 78 with a clear line', async () => {
    await expect(rotatePassword({ ...formed.test.load(), users: undefined, runtime: 'external' }, 'app')).rejects.toThrow(/only on nodes this toolkit starts \(RC_RUNTIME=external/)
  })
})
