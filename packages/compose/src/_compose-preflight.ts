import { readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { CONTAINER_UID, ConfigError, runShell, userSecretFile, type Stack, type StackNode } from '@redis-cluster/core'
import { findPortOwner, isPortFree } from './_ports.ts'
import { addedServicesWithoutTls, containerTlsFiles, tlsComposeFile, tlsFileFix } from './_compose-tls.ts'

/** The ACL file every node container loads (compose secret `users_acl`): written by the compose runtime's start. */
export const composeAclFile = (stack: Pick<Stack, 'secretsDir'>) => join(stack.secretsDir, 'users.acl')

/**
 * The files compose/docker-compose.yml mounts as secrets (the same paths under
 * RC_SECRETS_DIR): the ACL file and the users a container runs as (nodes:
 * replication, init: admin, exporter: exporter). app and backup are used only
 * from the host, so no container holds them.
 */
export const containerSecretFiles = (stack: Pick<Stack, 'secretsDir'>) => [composeAclFile(stack), ...(['replication', 'admin', 'exporter'] as const).map((user) => userSecretFile(stack.secretsDir, user))]

/**
 * Checks what `docker-compose up` would otherwise fail on late or obscurely:
 * images present (no registry may be reachable: a pull can hang), the secrets and
 * bind-mounted files readable by the containers' redis user, ports free unless
 * our own running containers hold them. Collects every problem into one ConfigError.
 */
export async function preflightCompose(stack: Stack, runningNodes: readonly StackNode[]): Promise<void> {
  const problems: { what: string; fix: string }[] = []
  const [images, ports] = await Promise.all([missingImages(stack), takenPorts(stack, runningNodes)])
  for (const image of images) {
    problems.push({
      what: `image ${image} is not present`,
      fix: `docker pull ${image}, or build one offline: scripts/build-redis-image.sh and set REDIS_IMAGE=redis-cluster-toolkit/redis:local (and REDIS_INIT_IMAGE) in .env`,
    })
  }
  problems.push(...ports)
  const secrets = containerSecretFiles(stack).map((file) => ({ file, problem: unreadableByContainer(file) })).filter((s) => s.problem)
  // One fix for all of them, so the hint stays one command line.
  const files = secrets.map((s) => s.file).join(' ')
  for (const { file, problem } of secrets) {
    problems.push({
      what: `secret ${file} is not readable by uid ${CONTAINER_UID}, the containers' redis user (${problem}; file secrets are bind mounts)`,
      fix: `chgrp ${CONTAINER_UID} ${files} && chmod 640 ${files}`,
    })
  }
  // RC_TLS=1: a certificate the containers cannot read would make start-node.sh exit 78 inside the container.
  for (const { file, key } of containerTlsFiles(stack)) {
    const problem = unreadableByContainer(file)
    if (problem) problems.push({ what: `RC_TLS=1: ${file} ${problem === 'ENOENT' ? 'is missing' : `is not readable by uid ${CONTAINER_UID}, the containers' redis user (${problem})`}`, fix: tlsFileFix(file, key, problem) })
  }
  for (const name of stack.tls ? addedServicesWithoutTls(stack) : []) {
    problems.push({ what: `RC_TLS=1: ${name} (REDIS_ADDED) is not in ${relative(stack.root, tlsComposeFile(stack))}, so it would start without TLS`, fix: `add the line \`  ${name}: *tls-node\` under services: in ${tlsComposeFile(stack)}` })
  }
  const composeDir = dirname(stack.composeFile)
  for (const file of [stack.confFile, ...['start-node.sh', 'init-cluster.sh', 'secret.sh'].map((f) => resolve(composeDir, 'node', f))]) {
    const problem = unreadableByContainer(file)
    if (problem) problems.push({ what: `${relative(stack.root, file)} is not readable by uid ${CONTAINER_UID} (${problem})`, fix: `chmod o+r ${file}` })
  }
  if (problems.length === 0) return
  throw new ConfigError(problems.map((p) => p.what).join('; '), [...new Set(problems.map((p) => p.fix))].join('; '))
}

/** RC_PUBLISH_BUS_PORTS=1: also publish the cluster-bus ports (docker-compose.bus-ports.yml). */
export const publishBusPorts = (stack: Stack) => stack.publishBusPorts

/** Why uid/gid 999 cannot read the file (mode bits; ACLs are not looked at), or undefined if it can. */
function unreadableByContainer(file: string): string | undefined {
  let st
  try {
    st = statSync(file)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'cannot stat'
  }
  const readable = (st.mode & 0o004) !== 0 || (st.uid === CONTAINER_UID && (st.mode & 0o400) !== 0) || (st.gid === CONTAINER_UID && (st.mode & 0o040) !== 0)
  return readable ? undefined : `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid}`
}

/**
 * The node and init images, as the compose file names them: `${REDIS_IMAGE:-default}`
 * and `${REDIS_INIT_IMAGE:-default}` resolved against the stack's env. A file
 * that names images another way is not checked here (compose will say).
 */
export function composeImages(stack: Stack): string[] {
  const text = composeText(stack)
  const images: string[] = []
  for (const name of ['REDIS_IMAGE', 'REDIS_INIT_IMAGE']) {
    const match = new RegExp(`\\$\\{${name}(:?-)([^}]*)\\}`).exec(text)
    if (!match) continue
    const value = stack.env[name]
    images.push(match[1] === ':-' ? value || match[2]! : (value ?? match[2]!))
  }
  return [...new Set(images)]
}

/** The profiles the compose file names (`profiles: [a, b]` or `profiles: ["a"]`). */
export function composeProfiles(stack: Stack): string[] {
  const profiles = [...composeText(stack).matchAll(/^\s*profiles:\s*\[([^\]]*)\]/gm)].flatMap((m) => m[1]!.split(',').map((p) => p.trim().replace(/^["']|["']$/g, '')))
  return [...new Set(profiles.filter(Boolean))]
}

function composeText(stack: Stack): string {
  try {
    return readFileSync(stack.composeFile, 'utf8')
  } catch {
    return ''
  }
}

async function missingImages(stack: Stack): Promise<string[]> {
  const images = composeImages(stack)
  const present = await Promise.all(images.map(async (image) => (await (await runShell({ quiet: true, nothrow: true, env: stack.env }))`docker image inspect --format ${'{{.Id}}'} ${image}`).exitCode === 0))
  return images.filter((_, i) => !present[i])
}

/** Client ports in use by anything but this stack's running node containers. */
async function takenPorts(stack: Stack, runningNodes: readonly StackNode[]): Promise<{ what: string; fix: string }[]> {
  const busToo = publishBusPorts(stack)
  const checks = stack.nodes
    .filter((node) => !runningNodes.includes(node))
    .flatMap((node) => (busToo ? [node.port, node.busPort] : [node.port]).map(async (port) => ((await isPortFree(port, node.host)) ? undefined : { node, port })))
  const taken = (await Promise.all(checks)).filter((t) => t !== undefined)
  return taken.map(({ node, port }) => ({
    what: `port ${port} (${node.name}) is used by ${findPortOwner(port) ?? 'another process'}`,
    fix: 'stop that process (a local cluster? `RC_RUNTIME=local pnpm run down`), or give the nodes other ports in .env (REDISn_PORT / REDISn_BUS_PORT)',
  }))
}
