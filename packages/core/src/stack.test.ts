import { mkdtempSync, mkdirSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadStack } from './stack.ts'
import { writeAddedNodes } from './added-nodes.ts'
import { ConfigError } from './errors.ts'
import { USER_NAMES } from './users.ts'

const REPO = resolve(import.meta.dirname, '../../..')

const roots: string[] = []
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })))

/** A scratch root with the repo's compose file, an optional .env and the users' secrets (`secret`: admin's). */
function scratch({ dotenv = '', secret = 'pw' as string | null } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'rc-stack-'))
  roots.push(root)
  mkdirSync(join(root, 'compose'))
  copyFileSync(join(REPO, 'compose/docker-compose.yml'), join(root, 'compose/docker-compose.yml'))
  writeFileSync(join(root, '.env'), dotenv)
  if (secret !== null) {
    mkdirSync(join(root, 'secrets/users'), { recursive: true })
    for (const user of USER_NAMES) writeFileSync(join(root, `secrets/users/${user}.txt`), user === 'admin' ? secret : `pw-${user}`, { mode: 0o600 })
  }
  return root
}

function catchError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    return error as ConfigError
  }
  throw new Error('expected an error')
}

describe('loadStack()', () => {
  it('reads every user\'s secret (and a pending rotation\'s); RC_PASSWORD_FILE is the toolkit\'s own, for any runtime', () => {
    const root = scratch({ dotenv: 'RC_PASSWORD_FILE=outside/pw.txt\n' })
    mkdirSync(join(root, 'outside'))
    writeFileSync(join(root, 'outside/pw.txt'), 'outside-secret\n', { mode: 0o600 })
    writeFileSync(join(root, 'secrets/users/app.txt.next'), 'app-next', { mode: 0o600 })
    const stack = loadStack({ cwd: root, env: {} })
    expect(stack).toMatchObject({ user: 'admin', password: 'outside-secret', secretFile: join(root, 'outside/pw.txt'), secretsDir: join(root, 'secrets') })
    expect(stack.users).toEqual({ admin: ['outside-secret'], app: ['pw-app', 'app-next'], replication: ['pw-replication'], exporter: ['pw-exporter'], backup: ['pw-backup'] })
    expect(stack.env.RC_SECRETS_DIR).toBe(join(root, 'secrets')) // absolute, for the compose file
  })

  it('RC_USER outside the toolkit\'s users needs RC_PASSWORD_FILE; external reads only the toolkit\'s own secret', () => {
    const root = scratch({ secret: null })
    const error = catchError(() => loadStack({ cwd: root, env: { RC_USER: 'ops' } }))
    expect(error.message).toMatch(/RC_USER='ops' is not one of the toolkit's users \(admin, app, replication, exporter, backup\): set RC_PASSWORD_FILE/)
    writeFileSync(join(root, 'ops.txt'), 'ops-pw')
    const external = loadStack({ cwd: root, env: { RC_RUNTIME: 'external', RC_SEEDS: '10.0.0.5:6379', RC_USER: 'ops', RC_PASSWORD_FILE: 'ops.txt' } })
    expect(external).toMatchObject({ user: 'ops', password: 'ops-pw', users: undefined })
  })

  it('RC_TLS=1: the certificate files in <secretsDir>/tls/, each missing one named (fix: secrets:tls); every runtime', () => {
    const root = scratch()
    expect(loadStack({ cwd: root, env: { RC_RUNTIME: 'local' } }).tls).toBeUndefined()
    const missing = catchError(() => loadStack({ cwd: root, env: { RC_RUNTIME: 'local', RC_TLS: '1' } }))
    expect(missing.message).toContain(`RC_TLS=1 but ${join(root, 'secrets/tls/ca.crt')} is missing`)
    expect(missing.hint).toMatch(/pnpm secrets:tls/)
    // secrets:tls itself loads without secrets: it creates them
    expect(loadStack({ cwd: root, env: { RC_RUNTIME: 'local', RC_TLS: '1' }, requireSecrets: false }).tls).toMatchObject({ nodeCert: join(root, 'secrets/tls/node.crt') })
    mkdirSync(join(root, 'secrets/tls'))
    for (const file of ['ca.crt', 'node.crt', 'node.key', 'client.crt', 'client.key']) writeFileSync(join(root, 'secrets/tls', file), '')
    expect(loadStack({ cwd: root, env: { RC_RUNTIME: 'local', RC_TLS: '1' } }).tls).toMatchObject({ ca: join(root, 'secrets/tls/ca.crt'), clientKey: join(root, 'secrets/tls/client.key') })
    // compose mounts the same files into its containers (docker-compose.tls.yml)
    expect(loadStack({ cwd: root, env: { RC_RUNTIME: 'compose', RC_TLS: '1' } }).tls).toMatchObject({ remote: false, nodeKey: join(root, 'secrets/tls/node.key') })
  })

  it('RC_TLS=1 on external: only the CA and the client certificate are the toolkit\'s to read (the nodes have their own)', () => {
    const root = scratch()
    const env = { RC_RUNTIME: 'external', RC_SEEDS: '10.0.0.5:6379', RC_TLS: '1' }
    const missing = catchError(() => loadStack({ cwd: root, env }))
    expect(missing.message).toBe(`invalid configuration: ${['ca.crt', 'client.crt', 'client.key'].map((f) => `RC_TLS=1 but ${join(root, 'secrets/tls', f)} is missing`).join('; ')}`)
    expect(missing.hint).toMatch(/put the cluster's CA certificate as ca\.crt/)
    mkdirSync(join(root, 'secrets/tls'))
    for (const file of ['ca.crt', 'client.crt', 'client.key']) writeFileSync(join(root, 'secrets/tls', file), '')
    expect(loadStack({ cwd: root, env }).tls).toMatchObject({ remote: true, ca: join(root, 'secrets/tls/ca.crt') })
  })

  it('external: no nodes from the compose file (discoverStack reads them from the cluster), and it needs seeds', () => {
    const stack = loadStack({ cwd: scratch(), env: { RC_RUNTIME: 'external', RC_SEEDS: '10.0.0.5:6379,10.0.0.6:6379' } })
    expect(stack).toMatchObject({ runtime: 'external', nodes: [], seeds: [{ host: '10.0.0.5', port: 6379 }, { host: '10.0.0.6', port: 6379 }] })
    const error = catchError(() => loadStack({ cwd: scratch(), env: { RC_RUNTIME: 'external' } }))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toBe('RC_RUNTIME=external needs RC_SEEDS=host:port[,host:port...] (nodes of the cluster to operate)')
  })

  it('works: six nodes in the spec layout from the compose file defaults', () => {
    const stack = loadStack({ cwd: join(scratch(), 'compose'), env: {} })
    expect(stack.nodes.map((n) => [n.name, n.port, n.busPort, n.clusterIp, n.role, n.masterIndex])).toEqual([
      ['redis-node-0', 6379, 16379, '172.19.0.60', 'master', undefined],
      ['redis-node-1', 6380, 16380, '172.19.0.61', 'master', undefined],
      ['redis-node-2', 6381, 16381, '172.19.0.62', 'master', undefined],
      ['redis-node-3', 6382, 16382, '172.19.0.63', 'replica', 0],
      ['redis-node-4', 6383, 16383, '172.19.0.64', 'replica', 1],
      ['redis-node-5', 6384, 16384, '172.19.0.65', 'replica', 2],
    ])
    expect(stack.nodes.map((n) => n.slots)).toEqual([
      { start: 0, end: 5460 }, { start: 5461, end: 10922 }, { start: 10923, end: 16383 }, undefined, undefined, undefined,
    ])
    expect(stack.password).toBe('pw')
    expect(stack.runtime).toBe('auto')
    expect(Object.isFrozen(stack.nodes[0])).toBe(true)
  })

  it('reads .env, and the process environment overrides it', () => {
    const root = scratch({ dotenv: 'REDIS0_PORT=7000\nREDIS1_PORT=7001\nRC_RUNTIME=local\n' })
    const stack = loadStack({ cwd: root, env: { REDIS1_PORT: '7101' } })
    expect(stack.nodes[0]!.port).toBe(7000)
    expect(stack.nodes[1]!.port).toBe(7101)
    expect(stack.runtime).toBe('local')
  })

  it('trims a CRLF secret and says so', () => {
    const stack = loadStack({ cwd: scratch({ secret: 'pw\r\n' }), env: {} })
    expect(stack.password).toBe('pw')
    expect(stack.notices.join()).toMatch(/CRLF/)
  })

  it('names each missing secret and how to create them (exit 78); points an older one-password checkout at the migration', () => {
    const root = scratch({ secret: null })
    const error = catchError(() => loadStack({ cwd: root, env: {} }))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toBe(`invalid configuration: ${USER_NAMES.map((u) => `password secret ${join(root, 'secrets/users', `${u}.txt`)} is missing`).join('; ')}`)
    expect(error.exitCode).toBe(78)
    expect(error.hint).toBe('run `pnpm secrets:init` to create the missing secrets (or copy secrets.example/)')
    mkdirSync(join(root, 'secrets'))
    writeFileSync(join(root, 'secrets/redis_password.txt'), 'old')
    expect(catchError(() => loadStack({ cwd: root, env: {} })).hint).toMatch(/redis_password\.txt is the one password of an older version: run `pnpm secrets:init`/)
    expect(loadStack({ cwd: root, env: {}, requireSecrets: false })).toMatchObject({ password: '', users: undefined })
  })

  it('rejects an empty secret', () => {
    expect(() => loadStack({ cwd: scratch({ secret: '\n' }), env: {} })).toThrow(/is empty/)
  })

  it('collects every problem into one error', () => {
    const root = scratch({ dotenv: 'REDIS0_PORT=abc\nREDIS2_PORT=6380\nRC_RUNTIME=cloud\n' })
    const error = catchError(() => loadStack({ cwd: root, env: {} }))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toMatch(/REDIS0_PORT='abc' is not a port/)
    expect(error.message).toMatch(/port 6380 is used by both redis-node-1 and redis-node-2/)
    expect(error.message).toMatch(/RC_RUNTIME/)
  })

  it('names the variable, its value and what is allowed', () => {
    const cases: [string, string][] = [
      ['REDIS1_PORT=abc', "REDIS1_PORT='abc' is not a port (an integer 1-65535)"],
      ['REDIS1_PORT=0x7125', "REDIS1_PORT='0x7125' is not a port (an integer 1-65535)"],
      ['REDIS1_BUS_PORT=70000', "REDIS1_BUS_PORT='70000' is not a port (an integer 1-65535)"],
      ['RC_RUNTIME=bogus', "RC_RUNTIME='bogus': expected one of auto, compose, local, external"],
      ['RC_TIMEOUT_MS=-5', "RC_TIMEOUT_MS='-5' is not a duration (a whole number of milliseconds, at least 1)"],
      ['REDIS_CLUSTER_NODE_TIMEOUT=2s', "REDIS_CLUSTER_NODE_TIMEOUT='2s' is not a duration (a whole number of milliseconds, at least 1)"],
      ['COMPOSE_PROJECT_NAME=My Stack', "COMPOSE_PROJECT_NAME='My Stack' is not a compose project name (lowercase letters, digits, - and _)"],
    ]
    for (const [line, message] of cases) {
      const error = catchError(() => loadStack({ cwd: scratch({ dotenv: `${line}\n` }), env: {} }))
      expect(error, line).toBeInstanceOf(ConfigError)
      expect(error.message, line).toBe(message)
    }
  })

  it('reports malformed .env lines with file:line, with every other problem in one error', () => {
    const root = scratch({ dotenv: '# ports\nREDIS1_PORT 7001\nREDIS-2_PORT=7002\nexport REDIS3_PORT=7003\nNOTE="two\nlines"\n\nRC_RUNTIME=bogus\n' })
    const error = catchError(() => loadStack({ cwd: root, env: {} }))
    const envFile = join(root, '.env')
    expect(error.message).toBe(
      `invalid configuration: ${envFile}:2: 'REDIS1_PORT 7001' is not NAME=value; ` +
        `${envFile}:3: 'REDIS-2_PORT' is not a variable name (letters, digits and _, not starting with a digit); ` +
        "RC_RUNTIME='bogus': expected one of auto, compose, local, external",
    )
    expect(error.exitCode).toBe(78)
    expect(error.hint).toBe(`edit ${envFile} or ${join(root, 'compose/docker-compose.yml')}`)
    expect(catchError(() => loadStack({ cwd: root, env: { RC_RUNTIME: 'cloud' } })).hint).toMatch(/\(RC_RUNTIME set in the environment, which wins over \.env\)$/)
  })

  it('does not report a bad port twice (variable and node), and checks what the compose file hands on', () => {
    const error = catchError(() => loadStack({ cwd: scratch({ dotenv: 'REDIS1_PORT=abc\n' }), env: {} }))
    expect(error.message).not.toMatch(/redis-node-1/)
    const root = scratch()
    const file = join(root, 'compose/docker-compose.yml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('REDIS_PORT: ${REDIS2_PORT:-6381}', 'REDIS_PORT: 6381x'))
    expect(catchError(() => loadStack({ cwd: root, env: {} })).message).toBe("redis-node-2: REDIS_PORT='6381x' is not a port (an integer 1-65535)")
  })

  it('types the node timeout: a number, or undefined for redis.conf\'s', () => {
    expect(loadStack({ cwd: scratch({ dotenv: 'REDIS_CLUSTER_NODE_TIMEOUT=1000\n' }), env: {} }).nodeTimeoutMs).toBe(1000)
    expect(loadStack({ cwd: scratch({ dotenv: 'REDIS_CLUSTER_NODE_TIMEOUT=\n' }), env: {} }).nodeTimeoutMs).toBeUndefined()
  })

  it('warns about an unknown RC_* name in .env or the environment, naming the closest known one', () => {
    const stack = loadStack({ cwd: scratch({ dotenv: 'RC_TIMOUT_MS=3000\nREDIS1_PROT=7001\n' }), env: { RC_RUNTME: 'local', RC_SOMETHING_ELSE: '1', REDIS_URL: 'x' } })
    expect(stack.timeoutMs).toBe(60_000)
    expect(stack.notices).toEqual([
      'RC_TIMOUT_MS is not a setting; did you mean RC_TIMEOUT_MS?',
      'REDIS1_PROT is not a setting; did you mean REDIS1_PORT?',
      'RC_RUNTME is not a setting; did you mean RC_RUNTIME?',
      'RC_SOMETHING_ELSE is not a setting (see .env.example for the list)',
    ])
    expect(loadStack({ cwd: scratch({ dotenv: 'RC_ENV_FILE=other.env\n' }), env: {} }).notices).toEqual([
      'RC_ENV_FILE in .env has no effect (it says where .env is): set it in the environment',
    ])
  })

  it('takes the project name from COMPOSE_PROJECT_NAME, as docker-compose does (RC_PROJECT is its old name)', () => {
    expect(loadStack({ cwd: scratch(), env: {} }).projectName).toBe('redis-cluster')
    expect(loadStack({ cwd: scratch({ dotenv: 'COMPOSE_PROJECT_NAME=ops\n' }), env: {} }).projectName).toBe('ops')
    const old = loadStack({ cwd: scratch({ dotenv: 'RC_PROJECT=old\n' }), env: {} })
    expect(old.projectName).toBe('old')
    expect(old.notices).toEqual([expect.stringMatching(/^RC_PROJECT is the old name of COMPOSE_PROJECT_NAME: rename it/)])
    expect(() => loadStack({ cwd: scratch({ dotenv: 'RC_PROJECT=old\n' }), env: { COMPOSE_PROJECT_NAME: 'new' } })).toThrow(/COMPOSE_PROJECT_NAME='new' and RC_PROJECT='old' disagree/)
  })

  it('reports a broken compose file', () => {
    const root = scratch()
    writeFileSync(join(root, 'compose/docker-compose.yml'), 'services: [unclosed')
    expect(() => loadStack({ cwd: root, env: {} })).toThrow(/not valid YAML/)
  })

  it('merges the nodes added by cluster:add-node: the local record and compose services marked REDIS_ADDED', () => {
    const root = scratch()
    const file = join(root, 'compose/docker-compose.yml')
    const service = '  redis-node-7:\n    environment:\n      REDIS_PORT: 7007\n      REDIS_BUS_PORT: 17007\n      REDIS_ADDED: replica-of redis-node-6\n    networks:\n      infra_net:\n        ipv4_address: 172.19.0.70\n'
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^ {2}redis-cluster-init:/m, `${service}\n  redis-cluster-init:`))
    writeAddedNodes(join(root, '.data'), [{ name: 'redis-node-6', port: 7006, busPort: 17006, role: 'master' }])
    const stack = loadStack({ cwd: root, env: { RC_DATA_DIR: '.data' } })
    expect(stack.nodes.slice(6).map((n) => [n.name, n.index, n.port, n.busPort, n.role, n.masterIndex, n.slots, n.added, n.clusterIp])).toEqual([
      ['redis-node-6', 6, 7006, 17006, 'master', undefined, undefined, true, undefined],
      ['redis-node-7', 7, 7007, 17007, 'replica', 6, undefined, true, '172.19.0.70'],
    ])
    expect(stack.nodes[0]!.slots).toEqual({ start: 0, end: 5460 }) // the spec's layout is the six, still
  })

  it('reports an added node that clashes or names no master, and a broken record', () => {
    const root = scratch()
    writeAddedNodes(join(root, '.data'), [
      { name: 'redis-node-2', port: 7006, busPort: 17006, role: 'master' },
      { name: 'redis-node-6', port: 6379, busPort: 17007, role: 'master' },
      { name: 'redis-node-7', port: 7008, busPort: 17008, role: 'replica-of redis-node-9' },
      { name: 'redis-node-8', port: 7009, busPort: 17009, role: 'primary' },
    ])
    const error = catchError(() => loadStack({ cwd: root, env: { RC_DATA_DIR: '.data' } }))
    expect(error.message).toMatch(/added node redis-node-2: not a free redis-node-N name/)
    expect(error.message).toMatch(/port 6379 is used by both redis-node-0 and redis-node-6/)
    expect(error.message).toMatch(/added node redis-node-7: replicates redis-node-9, which is not a node of this stack/)
    expect(error.message).toMatch(/added node redis-node-8: role 'primary' is neither/)
    writeFileSync(join(root, '.data/added-nodes.json'), '{"nodes": [{"name": 1}]}')
    expect(catchError(() => loadStack({ cwd: root, env: { RC_DATA_DIR: '.data' } })).message).toMatch(/added-nodes.json is not a list of added nodes/)
  })

  it('fails clearly outside a toolkit checkout', () => {
    expect(() => loadStack({ cwd: tmpdir(), env: {} })).toThrow(/no compose\/docker-compose.yml found/)
  })
})
