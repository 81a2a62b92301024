import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, USER_NAMES, applyAcl, connectCluster, connectNode, parseClusterNodes, parseInfo, userSecretFile, waitFor, type ClusterNodeEntry, type Stack } from '@redis-cluster/core'
import { chooseRuntime, composeRuntime, runCompose, INIT_SERVICE } from '../src/index.ts'
import { allocatePorts, createTestStack, runCli, type CliResult, type TestStack } from '@redis-cluster/test-utils'
import { TEST_IMAGE, composeUnavailable, createComposeTestStack, docker, type ComposeTestStack } from '@redis-cluster/test-utils'
import { listListeners } from '../src/_ports.ts'

// The real compose stack on a real Docker engine. One stack is shared by the
// tests below, in order (up, checks, up again, down + up, failover): each
// builds on the state the previous one left, which keeps the file near a minute.
const unavailable = composeUnavailable()
const mustRun = process.env.CI === 'true'
if (unavailable && !mustRun) console.warn(`compose e2e tests skipped: ${unavailable}`)

describe('chooseRuntime()', () => {
  let test: TestStack
  beforeAll(async () => {
    test = await createTestStack({ env: { RC_RUNTIME: 'auto', RC_PROJECT: 'rc-e2e-none', REDIS_IMAGE: TEST_IMAGE } })
  })
  afterAll(() => test?.cleanup())

  it('auto without a Docker engine: local, with a one-line notice', async () => {
    const choice = await chooseRuntime(test.load({ DOCKER_HOST: `unix://${test.dir}/no-docker.sock` }))
    expect(choice.runtime.name).toBe('local')
    expect(choice.notice).toMatch(/^no Docker engine answers \(.*no-docker.sock: ENOENT\): using the local runtime/)
  })

  it('RC_RUNTIME=compose without a Docker engine: a ConfigError saying how to start one', async () => {
    const error = await chooseRuntime(test.load({ RC_RUNTIME: 'compose', DOCKER_HOST: `unix://${test.dir}/no-docker.sock` })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toMatch(/no Docker engine answers/)
  })

  it.skipIf(Boolean(unavailable))('auto with an engine: compose when the image is there, local when it is missing or local data exists', async () => {
    expect((await chooseRuntime(test.load())).runtime.name).toBe('compose')
    const missing = await chooseRuntime(test.load({ REDIS_IMAGE: 'redis-cluster-toolkit/absent:none' }))
    expect(missing.runtime.name).toBe('local')
    expect(missing.notice).toMatch(/image redis-cluster-toolkit\/absent:none is not present: using the local runtime/)
    mkdirSync(test.load().nodes[0]!.dataDir, { recursive: true })
    expect(await chooseRuntime(test.load())).toMatchObject({ reason: expect.stringMatching(/local node data exists/) })
  })
})

describe.runIf(unavailable && mustRun)('compose runtime e2e under CI', () => {
  it('needs a Docker engine, compose and the offline image', () => {
    expect.fail(`CI=true but ${unavailable} (.ci/run starts dockerd and builds the image)`)
  })
})

describe.skipIf(Boolean(unavailable))(`compose runtime e2e${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let test: ComposeTestStack
  let stack: Stack
  let ids: string[] = []

  beforeAll(async () => {
    test = await createComposeTestStack()
    stack = test.load()
  })
  afterAll(() => test?.cleanup(), 180_000)

  const cli = async (script: string, args: string[] = []): Promise<CliResult> => runCli(script, args, test.env)
  const expectOk = (r: CliResult) => expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0)
  const label = () => `label=com.docker.compose.project=${test.project}`
  const allPasswords = () => Object.values(test.load().users!).flat()
  const containerIds = () => docker(['ps', '-aq', '--no-trunc', '--filter', label()]).stdout.split('\n').filter(Boolean)
  const inspect = (id: string) => JSON.parse(docker(['inspect', id]).stdout)[0]
  const serviceContainer = (service: string) =>
    docker(['ps', '-aq', '--no-trunc', '--filter', label(), '--filter', `label=com.docker.compose.service=${service}`]).stdout.trim().split('\n')[0]!

  /** `pnpm run up`: the compose runtime starts the nodes (and the init container), then init forms/checks, in one command. */
  async function up(): Promise<{ nodes: CliResult }> {
    const nodes = await cli('init/up')
    expectOk(nodes)
    return { nodes }
  }

  async function views(): Promise<{ id: string; entries: ClusterNodeEntry[] }[]> {
    return Promise.all(
      stack.nodes.map(async (node) => {
        const client = await connectNode(stack, node)
        try {
          const entries = parseClusterNodes((await client.cluster('NODES')) as string)
          return { id: entries.find((e) => e.myself)!.id, entries }
        } finally {
          client.disconnect()
        }
      }),
    )
  }

  /** The spec's exact layout, every node seeing all six and no noaddr/fail?/handshake ghosts. */
  async function expectSpecLayout(): Promise<string[]> {
    const all = await views()
    const nodeIds = all.map((v) => v.id)
    all.forEach(({ entries }, i) => {
      const node = stack.nodes[i]!
      const myself = entries.find((e) => e.myself)!
      if (node.role === 'master') {
        expect(myself.role, node.name).toBe('master')
        expect(myself.slots, node.name).toEqual([node.slots])
      } else {
        expect(myself.role, node.name).toBe('replica')
        expect(myself.masterId, node.name).toBe(nodeIds[node.masterIndex!])
      }
      expect(entries.map((e) => e.id).sort(), `${node.name} knows exactly the six nodes`).toEqual([...nodeIds].sort())
      expect(entries.filter((e) => e.unhealthy).map((e) => `${e.host}:${e.port} ${e.flags}`), node.name).toEqual([])
      expect(entries.map((e) => `${e.host}:${e.port}`).sort()).toEqual(stack.nodes.map((n) => `${n.clusterIp}:${n.port}`).sort())
    })
    return nodeIds
  }

  it('docker-compose config validates the file (all profiles), which has no obsolete version key', async () => {
    await runCompose(stack, ['config', '-q'])
    await runCompose(stack, ['--profile', 'monitoring', '--profile', 'gui', 'config', '-q'])
    expect(readFileSync(stack.composeFile, 'utf8')).not.toMatch(/^version:/m)
  })

  it('preflight: a missing image, a container secret uid 999 cannot read and a taken port fail at once, in one line, before any container', async () => {
    // The nodes' replication secret, not the toolkit's own (admin) one: each secret a container mounts is checked.
    const secret = userSecretFile(stack.secretsDir, 'replication')
    const mode = statSync(secret).mode & 0o777
    chmodSync(secret, 0o600)
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(stack.nodes[5]!.port, '127.0.0.1', resolve))
    try {
      const bad = test.load({ REDIS_IMAGE: 'redis-cluster-toolkit/absent:none' })
      const error = await composeRuntime.start(bad).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      const { message, hint } = error as ConfigError
      expect(message).toMatch(/image redis-cluster-toolkit\/absent:none is not present/)
      expect(message).toMatch(/users\/replication.txt is not readable by uid 999.*mode 0600/)
      expect(message).not.toMatch(/admin.txt|users.acl/)
      expect(message).toMatch(new RegExp(`port ${stack.nodes[5]!.port} \\(redis-node-5\\) is used by`))
      expect(hint).toMatch(/scripts\/build-redis-image.sh/)
      expect(hint).toContain(`chgrp 999 ${secret} && chmod 640 ${secret}`)
      expect(containerIds()).toEqual([])
      // the ACL file the nodes load was written from the secrets, for the containers' group, hashes only
      const acl = readFileSync(join(stack.secretsDir, 'users.acl'), 'utf8')
      expect(acl.split('\n').filter(Boolean).map((line) => line.split(' ')[1])).toEqual(['default', ...USER_NAMES])
      expect(acl).toMatch(/^user default off$/m)
      for (const password of allPasswords()) expect(acl).not.toContain(password)
      const st = statSync(join(stack.secretsDir, 'users.acl'))
      if (process.getuid?.() === 0) expect([st.mode & 0o777, st.gid]).toEqual([0o640, 999])
    } finally {
      blocker.close()
      chmodSync(secret, mode)
    }
  })

  it('up: six healthy nodes in the exact layout, formed by the init container (exit 0)', { timeout: 240_000 }, async () => {
    const started = performance.now()
    const { nodes } = await up()
    console.info(`compose up from nothing to healthy: ${((performance.now() - started) / 1000).toFixed(1)}s`)
    expect(nodes.stdout).toMatch(/compose: started redis-node-0, .*redis-node-5/)
    expect(nodes.stderr).toMatch(/redis-cluster-init: cluster formed/)
    expect(nodes.stdout).toMatch(/cluster already formed; healthy/)
    ids = await expectSpecLayout()
    expect(await chooseRuntime(test.load({ RC_RUNTIME: 'auto' }))).toMatchObject({ reason: `compose project ${test.project} exists` })

    const init = inspect(serviceContainer(INIT_SERVICE))
    expect(init.State).toMatchObject({ Status: 'exited', ExitCode: 0 })
    expect(docker(['logs', init.Id]).stdout).toMatch(/cluster formed: 3 masters/)
  })

  it('publishes client ports on 127.0.0.1 only and no cluster-bus port', () => {
    for (const node of stack.nodes) {
      const bindings = inspect(serviceContainer(node.name)).HostConfig.PortBindings as Record<string, { HostIp: string; HostPort: string }[]>
      expect(bindings, node.name).toEqual({ [`${node.port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: `${node.port}` }] })
      expect(listListeners(node.port).map((l) => l.address), `${node.name} client port`).toEqual(['127.0.0.1'])
      expect(listListeners(node.busPort).map((l) => l.address), `${node.name} bus port`).toEqual([])
    }
    expect(inspect(serviceContainer(INIT_SERVICE)).HostConfig.PortBindings ?? {}).toEqual({})
  })

  it('keeps every user\'s password out of every container command, args, env and process list', () => {
    const ids = containerIds()
    expect(ids.length).toBe(7)
    const passwords = allPasswords()
    expect(passwords).toHaveLength(USER_NAMES.length)
    for (const id of ids) {
      const info = inspect(id)
      const visible = JSON.stringify([info.Path, info.Args, info.Config.Cmd, info.Config.Entrypoint, info.Config.Env, info.Config.Healthcheck, info.Config.Labels])
      const top = info.State.Running ? docker(['top', id, '-eo', 'pid,args']).stdout : ''
      for (const password of passwords) {
        expect(visible).not.toContain(password)
        expect(JSON.stringify(info)).not.toContain(password)
        expect(top).not.toContain(password)
      }
    }
  })

  it('each container mounts only the secrets it needs; replicas sync as the replication user', async () => {
    const mounted = (service: string) => docker(['exec', serviceContainer(service), 'ls', '/run/secrets']).stdout.split(/\s+/).filter(Boolean).sort()
    for (const node of stack.nodes) expect(mounted(node.name), node.name).toEqual(['user_replication', 'users_acl'])
    // the init container has exited: its mounts, from docker inspect
    const initSecrets = (inspect(serviceContainer(INIT_SERVICE)).Mounts as { Destination: string }[]).map((m) => m.Destination).filter((d) => d.startsWith('/run/secrets/'))
    expect(initSecrets).toEqual(['/run/secrets/user_admin'])
    for (const node of stack.nodes.filter((n) => n.role === 'replica')) {
      const client = await connectNode(stack, node)
      try {
        const info = parseInfo((await client.info('replication')) as string)
        expect(info.master_link_status, node.name).toBe('up')
        expect(await client.config('GET', 'masteruser'), node.name).toEqual(['masteruser', 'replication'])
        // the node loaded the ACL file start-node.sh copied into /data (ACL SAVE writes there)
        expect(await client.config('GET', 'aclfile'), node.name).toEqual(['aclfile', '/data/users.acl'])
        expect(await client.config('GET', 'requirepass'), node.name).toEqual(['requirepass', ''])
      } finally {
        client.disconnect()
      }
    }
    // the masters logged no denied command (a replica syncing with a narrower user would show here)
    for (const node of stack.nodes.filter((n) => n.role === 'master')) {
      const client = await connectNode(stack, node)
      try {
        expect(await client.call('ACL', 'LOG'), node.name).toEqual([])
      } finally {
        client.disconnect()
      }
    }
  })

  it('with another replication password in the master\'s ACL, its replica cannot sync; applying the ACL again lets it', { timeout: 120_000 }, async () => {
    const [master, replica] = [stack.nodes[0]!, stack.nodes[3]!]
    const [m, r] = [await connectNode(stack, master), await connectNode(stack, replica)]
    const link = async () => parseInfo((await r.info('replication')) as string).master_link_status
    try {
      await m.call('ACL', 'SETUSER', 'replication', 'resetpass', '>not-the-replication-password')
      await r.call('CLIENT', 'KILL', 'TYPE', 'master') // the replica reconnects, and must AUTH again
      await waitFor(
        async () => {
          const log = JSON.stringify(await m.call('ACL', 'LOG'))
          return (log.includes('"auth"') && log.includes('"replication"') && (await link()) === 'down') || 'no refused AUTH as replication yet'
        },
        { timeoutMs: 30_000, intervalMs: 200, what: `${master.name} to refuse ${replica.name}'s AUTH as replication` },
      )
    } finally {
      await applyAcl(stack, m) // back to the secrets' ACL (also what `up` does)
      await m.call('ACL', 'LOG', 'RESET')
    }
    try {
      await waitFor(async () => (await link()) === 'up' || 'link down', { timeoutMs: 30_000, intervalMs: 200, what: `${replica.name} to sync again` })
    } finally {
      m.disconnect()
      r.disconnect()
    }
  })

  it('up again: nothing to form (init not even started) and node ids are unchanged', { timeout: 240_000 }, async () => {
    const { nodes } = await up()
    expect(nodes.stdout).toMatch(/all 6 nodes already running/)
    expect(nodes.stderr).toMatch(/cluster already formed, redis-cluster-init not needed/)
    expect(nodes.stdout).toMatch(/cluster already formed; healthy/)
    expect(await expectSpecLayout()).toEqual(ids)
  })

  it('the init container on a formed cluster (plain `docker-compose up`) exits 0 and changes nothing', { timeout: 240_000 }, async () => {
    await runCompose(stack, ['up', '--no-deps', '--no-color', INIT_SERVICE])
    const init = inspect(serviceContainer(INIT_SERVICE))
    expect(init.State.ExitCode).toBe(0)
    expect(docker(['logs', serviceContainer(INIT_SERVICE)]).stdout + docker(['logs', serviceContainer(INIT_SERVICE)]).stderr).toMatch(/cluster already exists .*nothing to do/)
    expect(await expectSpecLayout()).toEqual(ids)
  })

  it('runs redis-cli --cluster inside a node container, where the announced addresses are valid', async () => {
    const seed = stack.nodes[0]!
    const check = await composeRuntime.redisCli(stack, ['--cluster', 'check', `${composeRuntime.clusterAddress(seed)}:${seed.port}`])
    expect(check).toMatch(/\[OK\] All 16384 slots covered/)
    expect(await composeRuntime.logTail(stack, seed, 5)).toMatch(/\S/)
    expect((await composeRuntime.ps(stack)).map((n) => n.state)).toEqual(Array(6).fill('running'))
  })

  it('down then up: containers recreated, same node ids, no ghosts, a key written before is still there', { timeout: 240_000 }, async () => {
    const value = `kept-${Date.now()}`
    const client = connectCluster(stack)
    try {
      await client.set('e2e:kept', value)
    } finally {
      client.disconnect()
    }
    const before = containerIds()

    const down = await cli('compose/down')
    expectOk(down)
    expect(down.stdout).toMatch(/compose: stopped redis-node-0.*; data kept/)
    expect(containerIds()).toEqual([])
    expect(docker(['volume', 'ls', '-q', '--filter', label()]).stdout.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(6)

    const { nodes } = await up()
    expect(nodes.stdout).toMatch(/compose: started redis-node-0/)
    expect(nodes.stdout).toMatch(/cluster already formed; healthy/)
    expect(containerIds().some((id) => before.includes(id))).toBe(false)
    expect(await expectSpecLayout()).toEqual(ids)
    const again = connectCluster(stack)
    try {
      expect(await again.get('e2e:kept')).toBe(value)
    } finally {
      again.disconnect()
    }
  })

  it('a killed master container: its replica is promoted, status shows it, and up brings the old master back as a replica', { timeout: 240_000 }, async () => {
    const [master, replica] = [stack.nodes[0]!, stack.nodes[3]!]
    expect(docker(['kill', serviceContainer(master.name)]).code).toBe(0)
    await waitFor(
      async () => {
        const client = await connectNode(stack, replica)
        try {
          const myself = parseClusterNodes((await client.cluster('NODES')) as string).find((e) => e.myself)!
          return (myself.role === 'master' && myself.slots.length > 0) || `${replica.name} is ${myself.role}`
        } finally {
          client.disconnect()
        }
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `${replica.name} to be promoted` },
    )

    const status = await cli('monitor/status', ['--json'])
    const rows = JSON.parse(status.stdout).nodes as { node: string; role: string; slots?: string }[]
    expect(rows.find((r) => r.node === replica.name)).toMatchObject({ role: 'master', slots: '0-5460' })
    expect(rows.find((r) => r.node === master.name)).toMatchObject({ role: 'down' })

    const { nodes } = await up()
    expect(nodes.stdout).toMatch(/cluster already formed; healthy/)
    const after = await views()
    const old = after[0]!.entries.find((e) => e.myself)!
    expect(old.role).toBe('replica')
    expect(old.masterId).toBe(ids[3])
    expect(after.map((v) => v.id)).toEqual(ids)
  })

  it('volumes that outlive an address change (new IPs and ports in .env): up re-introduces the nodes, same ids and data', { timeout: 240_000 }, async () => {
    const before = await views()
    expectOk(await cli('compose/down'))
    const prefix = stack.nodes[0]!.clusterIp!.split('.').slice(0, 3).join('.')
    const ports = await allocatePorts(6)
    const moved = Object.fromEntries(stack.nodes.flatMap((_, i) => [[`REDIS${i}_IP`, `${prefix}.${40 + i}`], [`REDIS${i}_PORT`, `${ports[i]}`], [`REDIS${i}_BUS_PORT`, `${ports[i]! + 10000}`]]))
    const result = await runCli('init/up', [], { ...test.env, ...moved })
    expectOk(result)
    expect(result.stdout).toMatch(/redis-node-0: re-introduced at \S+\.40:\d+/)
    expect(result.stdout).toMatch(/cluster already formed; healthy/)
    const movedStack = test.load(moved)
    const client = connectCluster(movedStack)
    try {
      expect(await client.get('e2e:kept')).toMatch(/^kept-/)
    } finally {
      client.disconnect()
    }
    const ids = await Promise.all(
      movedStack.nodes.map(async (node) => {
        const c = await connectNode(movedStack, node)
        try {
          return parseClusterNodes((await c.cluster('NODES')) as string).find((e) => e.myself)!.id
        } finally {
          c.disconnect()
        }
      }),
    )
    expect(ids).toEqual(before.map((v) => v.id))
  })
})
