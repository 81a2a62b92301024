import { chmodSync, chownSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { CONTAINER_UID, USER_NAMES, userSecretFile } from '@redis-cluster/core'
import { composeRuntime } from '@redis-cluster/compose'
import { createTestStack, type TestStack } from './test-stack.ts'

export const TEST_IMAGE = process.env.REDIS_IMAGE || 'redis-cluster-toolkit/redis:local'

/** Runs the docker CLI; never throws. */
export function docker(args: readonly string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

/** Why the compose e2e tests cannot run here, or undefined when they can. */
export function composeUnavailable(): string | undefined {
  const engine = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 5000 })
  if (engine.error) return `no docker CLI (${(engine.error as NodeJS.ErrnoException).code})`
  if (engine.status !== 0) return `no Docker engine answers: ${engine.stderr.trim().split('\n').at(-1)}`
  const compose = [['docker', 'compose', 'version'], ['docker-compose', 'version']].some(([cmd, ...args]) => spawnSync(cmd!, args, { timeout: 10_000 }).status === 0)
  if (!compose) return 'neither `docker compose` nor `docker-compose` is installed'
  if (docker(['image', 'inspect', TEST_IMAGE]).code !== 0) return `image ${TEST_IMAGE} is missing: run scripts/build-redis-image.sh`
  return undefined
}

/** A /24 no docker network uses, in 10.199.0.0/16. */
function freeSubnet(): { prefix: string; subnet: string } {
  const used = docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...docker(['network', 'ls', '-q']).stdout.split('\n').filter(Boolean)])
    .stdout.split(/\s+/)
    .filter((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s))
  const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)
  const overlaps = (a: string, b: string) => {
    const [ipA, bitsA] = a.split('/') as [string, string]
    const [ipB, bitsB] = b.split('/') as [string, string]
    const bits = Math.min(Number(bitsA), Number(bitsB))
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    return ((toInt(ipA) & mask) >>> 0) === ((toInt(ipB) & mask) >>> 0)
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const prefix = `10.199.${Math.floor(Math.random() * 256)}`
    const subnet = `${prefix}.0/24`
    if (!used.some((u) => overlaps(u, subnet))) return { prefix, subnet }
  }
  throw new Error('no free /24 in 10.199.0.0/16 for the test network')
}

export interface ComposeTestStack extends TestStack {
  readonly project: string
}

/** Makes each user's secret in secretsDir readable by the containers' redis user (file secrets are bind mounts), as `pnpm secrets:init` does for compose. */
export function shareSecretsWithContainers(secretsDir: string): void {
  for (const user of USER_NAMES) shareWithContainers(userSecretFile(secretsDir, user))
}

/** One file readable by the containers' uid/gid 999 (0640), as the README has users make them. */
export function shareWithContainers(file: string): void {
  try {
    chownSync(file, -1, CONTAINER_UID)
    chmodSync(file, 0o640)
  } catch {
    chmodSync(file, 0o644) // not root: the test dir (0700) still hides it from other host users
  }
}

/**
 * A throwaway compose stack: own project name, network name and subnet, own
 * ports (never 6379-6384), own user secrets (readable by the containers' uid 999),
 * the offline image, and a 1 s node timeout for quick failovers.
 */
export async function createComposeTestStack({ tls }: { tls?: boolean } = {}): Promise<ComposeTestStack> {
  const project = `rc-e2e-${randomBytes(3).toString('hex')}`
  const { prefix, subnet } = freeSubnet()
  const base = await createTestStack({
    // RC_TLS=1: secrets:tls makes the certificates for compose (keys 0640 group 999, SANs with the containers' addresses)
    tls,
    env: {
      RC_RUNTIME: 'compose',
      RC_PROJECT: project,
      RC_TIMEOUT_MS: '90000',
      REDIS_IMAGE: TEST_IMAGE,
      REDIS_INIT_IMAGE: process.env.REDIS_INIT_IMAGE || TEST_IMAGE,
      REDIS_CLUSTER_NODE_TIMEOUT: '1000',
      REDIS_BIND_ADDRESS: '127.0.0.1',
      INFRA_NET_NAME: project,
      INFRA_NET_SUBNET: subnet,
      ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`REDIS${i}_IP`, `${prefix}.${10 + i}`])),
      REDIS_INIT_IP: `${prefix}.20`,
      REDIS_EXPORTER_IP: `${prefix}.21`,
      REDIS_INSIGHT_IP: `${prefix}.22`,
    },
  })
  shareSecretsWithContainers(base.env.RC_SECRETS_DIR!)
  return {
    ...base,
    project,
    async cleanup() {
      try {
        await composeRuntime.stop(base.load(), { purge: true })
      } catch {
        // fall through to removing by label, below
      }
      const label = `label=com.docker.compose.project=${project}`
      const containers = docker(['ps', '-aq', '--filter', label]).stdout.split('\n').filter(Boolean)
      if (containers.length) docker(['rm', '-f', '-v', ...containers])
      const volumes = docker(['volume', 'ls', '-q', '--filter', label]).stdout.split('\n').filter(Boolean)
      if (volumes.length) docker(['volume', 'rm', '-f', ...volumes])
      if (docker(['network', 'inspect', project]).code === 0) docker(['network', 'rm', project])
      await base.cleanup()
    },
  }
}
