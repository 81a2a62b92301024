import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { CONTAINER_UID, describeFsError, writeFileAtomic, type Stack } from '@redis-cluster/core'

/** RC_TLS=1: the override file that gives the containers the certificates and REDIS_TLS=1. */
export const tlsComposeFile = (stack: Pick<Stack, 'composeFile'>) => join(dirname(stack.composeFile), 'docker-compose.tls.yml')

/**
 * Where RC_TLS=1 puts Prometheus' targets of the `redis` job: docker-compose.tls.yml
 * mounts this directory over conf/prometheus/targets (RC_DATA_DIR is passed to compose).
 */
export const prometheusTlsTargetsDir = (stack: Pick<Stack, 'dataDir'>) => join(stack.dataDir, 'prometheus-targets')

/**
 * Writes the `redis` job's targets for a TLS stack: `rediss://<address>` of the
 * spec's nodes, in the same file_sd shape as conf/prometheus/targets/redis-nodes.yml.
 * redis_exporter dials TLS only for rediss:// targets, and Prometheus 2.53 cannot
 * choose a scheme from the environment, so the scheme lives in the one file that
 * differs between the two modes; the job itself stays in prometheus.yml. Only the
 * spec's nodes: the exporter has passwords for those alone (its REDIS_NODES).
 * JSON is YAML: the file keeps the .yml name the job's glob reads.
 */
export async function writePrometheusTlsTargets(stack: Stack): Promise<void> {
  const dir = prometheusTlsTargetsDir(stack)
  const file = join(dir, 'redis-nodes.yml')
  const groups = stack.nodes.filter((n) => !n.added).map((n) => ({ targets: [`rediss://${n.clusterIp}:${n.port}`], labels: { node: n.name } }))
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 })
    // Prometheus' image runs as nobody: world-readable (addresses only, no secret).
    await writeFileAtomic(file, `${JSON.stringify(groups, null, 2)}\n`, { mode: 0o644 })
  } catch (error) {
    throw describeFsError(error, { otherwise: 'point RC_DATA_DIR at a writable directory' })
  }
}

/**
 * Compose services marked REDIS_ADDED that docker-compose.tls.yml does not list:
 * under RC_TLS=1 they would start in plaintext, without the certificates. The
 * override names each service in a line `  redis-node-N: *tls-node` (README).
 */
export function addedServicesWithoutTls(stack: Stack): string[] {
  let text = ''
  try {
    text = readFileSync(tlsComposeFile(stack), 'utf8')
  } catch {
    // a missing override fails `docker-compose -f` itself, naming the file
  }
  const listed = new Set([...text.matchAll(/^ {2}(redis-node-\d+):/gm)].map((m) => m[1]))
  return stack.nodes.filter((n) => n.added && !listed.has(n.name)).map((n) => n.name)
}

/**
 * The certificate files the containers mount under RC_TLS=1 (core's tlsFiles
 * naming), each with what must be able to read it: the nodes read the node
 * key, the init container and the exporter the client key, all uid 999.
 */
export function containerTlsFiles(stack: Stack): { file: string; key: boolean }[] {
  const tls = stack.tls
  if (!tls) return []
  return [
    { file: tls.ca, key: false },
    { file: tls.nodeCert, key: false },
    { file: tls.nodeKey, key: true },
    { file: tls.clientCert, key: false },
    { file: tls.clientKey, key: true },
  ]
}

/** The fix for a certificate file uid 999 cannot read: keys as `secrets:tls` makes them for compose (0640 group 999, what core's looseSecret accepts), certificates world-readable. */
export function tlsFileFix(file: string, key: boolean, problem: string): string {
  if (problem === 'ENOENT') return `run \`pnpm secrets:tls\` (it creates ${basename(file)})`
  return key ? `chgrp ${CONTAINER_UID} ${file} && chmod 640 ${file}` : `chmod 644 ${file}`
}
