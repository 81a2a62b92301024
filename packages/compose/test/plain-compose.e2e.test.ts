import { cpSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, composeUnavailable, createComposeTestStack, docker, runCli, shareSecretsWithContainers, type ComposeTestStack } from '@redis-cluster/test-utils'

// A user who types the spec's own commands from the repo root must reach the
// stack the toolkit started: same project, same containers, and `up -d` must
// not start a second stack. Runs against a copy of the checkout's compose/
// (with its compose/.env link) and conf/, so the root .env is a test's own.
const unavailable = composeUnavailable()

describe.skipIf(Boolean(unavailable))(`plain docker-compose from the repo root${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let test: ComposeTestStack
  let root: string

  beforeAll(async () => {
    test = await createComposeTestStack()
    root = join(test.dir, 'checkout')
    cpSync(join(REPO_ROOT, 'compose'), join(root, 'compose'), { recursive: true, verbatimSymlinks: true })
    cpSync(join(REPO_ROOT, 'conf'), join(root, 'conf'), { recursive: true })
    // The user's secrets/ where both the toolkit (RC_SECRETS_DIR's default) and the compose file (../secrets) look.
    cpSync(test.env.RC_SECRETS_DIR!, join(root, 'secrets'), { recursive: true })
    shareSecretsWithContainers(join(root, 'secrets'))
    // The user's .env: the project name and every port, address and image of the test stack; no RC_* at all.
    const composeVars = Object.entries(test.env).filter(([name]) => !name.startsWith('RC_'))
    writeFileSync(join(root, '.env'), [`COMPOSE_PROJECT_NAME=${test.project}`, ...composeVars.map(([k, v]) => `${k}=${v}`), ''].join('\n'))
  })
  afterAll(() => test?.cleanup(), 180_000)

  let composeCommand: string[] | undefined
  /** Compose as a user runs it: from the root, `-f compose/docker-compose.yml`, nothing of ours in the environment. */
  function plainCompose(args: readonly string[]): { code: number; stdout: string; stderr: string } {
    composeCommand ??= spawnSync('docker-compose', ['version'], { timeout: 30_000 }).status === 0 ? ['docker-compose'] : ['docker', 'compose']
    const [command, ...pre] = composeCommand
    const env = Object.fromEntries(['PATH', 'HOME', 'DOCKER_HOST'].filter((k) => process.env[k]).map((k) => [k, process.env[k]!]))
    const r = spawnSync(command!, [...pre, '-f', 'compose/docker-compose.yml', ...args], { cwd: root, env, encoding: 'utf8', timeout: 180_000 })
    return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
  }
  const projectIds = (project: string) => docker(['ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`]).stdout.split('\n').filter(Boolean).sort()

  it('`ps -q` lists the containers the toolkit started, and `up -d` keeps them (same project, ports and images)', { timeout: 300_000 }, async () => {
    const up = await runCli('init/up', [], { RC_ROOT: root, RC_DATA_DIR: test.env.RC_DATA_DIR!, RC_RUNTIME: 'compose', RC_TIMEOUT_MS: '90000' })
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0)
    const ids = projectIds(test.project)
    expect(ids).toHaveLength(7) // six nodes and the init container

    const ps = plainCompose(['ps', '-q'])
    expect(ps.code, ps.stderr).toBe(0)
    expect(ps.stdout.split('\n').filter(Boolean).sort()).toEqual(ids)

    // Same config as the toolkit's run: nothing is recreated, and no other project appears on the stack's network.
    const again = plainCompose(['up', '-d'])
    expect(again.code, again.stderr).toBe(0)
    expect(projectIds(test.project)).toEqual(ids)
    const onNetwork = docker(['ps', '-aq', '--no-trunc', '--filter', `network=${test.env.INFRA_NET_NAME}`]).stdout.split('\n').filter(Boolean)
    expect(onNetwork.every((id) => ids.includes(id))).toBe(true)
  })
})
