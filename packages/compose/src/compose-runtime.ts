import { existsSync } from 'node:fs'
import { chmod, chown } from 'node:fs/promises'
import type { ProcessOutput } from 'zx'
import { dirname, join } from 'node:path'
import { CONTAINER_UID, CheckFailedError, ConfigError, TemporaryError, classifyFormation, connectAll, connectNode, describeFsError, parseClusterNodes, renderAclFile, runRedisCli, runShell, waitFor, writeFileAtomic, type Stack, type StackNode } from '@redis-cluster/core'
import { NODE_FAULTS, type NodeState, type Runtime, type StartResult, type StopResult } from './runtime.ts'
import { assertEngine, containerLogs, findCompose, inspectContainer, lastLine, listProjectContainers, type ProjectContainer } from './_docker.ts'
import { composeAclFile, composeProfiles, preflightCompose, publishBusPorts } from './_compose-preflight.ts'
import { tlsComposeFile, writePrometheusTlsTargets } from './_compose-tls.ts'

export const INIT_SERVICE = 'redis-cluster-init'

/**
 * The nodes as containers of compose/docker-compose.yml, project `RC_PROJECT`.
 * Works with `docker compose` (v2) and `docker-compose` (v1); containers are
 * found by their compose labels. Host code reaches nodes only through the
 * published 127.0.0.1 ports; `redis-cli` runs inside a node container, where
 * the announced infra_net addresses are valid. The one-shot init container
 * forms the cluster; `start` waits for it, so `formCluster` then finds it formed.
 */
export const composeRuntime: Runtime = {
  name: 'compose',
  ownsNodes: true,
  faults: NODE_FAULTS,

  async start(stack, { progress } = {}): Promise<StartResult> {
    await assertEngine(stack)
    const before = await listProjectContainers(stack)
    const running = stack.nodes.filter((node) => serviceContainer(before, node.name)?.state === 'running')
    await writeComposeAclFile(stack)
    if (stack.tls) await writePrometheusTlsTargets(stack)
    await preflightCompose(stack, running)
    const toStart = stack.nodes.filter((node) => !running.includes(node))
    if (toStart.length > 0) progress?.(`starting containers ${toStart.map((n) => n.name).join(', ')}`)
    // Nodes first, then the init container without its depends_on (no wait
    // for healthcheck intervals): we wait for PING ourselves, with a deadline.
    await runCompose(stack, ['up', '-d', '--no-color', ...stack.nodes.map((n) => n.name)])
    await Promise.all(stack.nodes.map((node) => waitForNode(stack, node)))
    if (await isFormed(stack)) {
      progress?.(`nodes answer PING; cluster already formed, ${INIT_SERVICE} not needed`)
      return { runtime: 'compose', started: toStart.map((n) => n.name), alreadyRunning: running.map((n) => n.name) }
    }
    progress?.(`nodes answer PING; running ${INIT_SERVICE}`)
    await runCompose(stack, ['up', '-d', '--no-color', '--no-deps', INIT_SERVICE])
    const result = await waitForInit(stack)
    progress?.(`${INIT_SERVICE}: ${result}`)
    return { runtime: 'compose', started: toStart.map((n) => n.name), alreadyRunning: running.map((n) => n.name) }
  },

  async stop(stack, { purge }): Promise<StopResult> {
    await assertEngine(stack)
    const before = await listProjectContainers(stack)
    // `down` removes containers and the network; volumes (the data) stay unless purged.
    // Every profile, so monitoring/GUI containers go too and the network can be removed.
    await runCompose(stack, [...composeProfiles(stack).flatMap((p) => ['--profile', p]), 'down', ...(purge ? ['--volumes'] : [])])
    const stopped = stack.nodes.filter((node) => ['running', 'restarting'].includes(serviceContainer(before, node.name)?.state ?? '')).map((n) => n.name)
    return { runtime: 'compose', stopped, purged: purge }
  },

  async ps(stack): Promise<NodeState[]> {
    const containers = await listProjectContainers(stack)
    return stack.nodes.map((node) => {
      const container = serviceContainer(containers, node.name)
      const state = !container ? 'absent' : container.state === 'running' ? 'running' : 'stopped'
      return { node: node.name, port: node.port, state }
    })
  },

  clusterAddress(node) {
    if (!node.clusterIp) {
      throw new ConfigError(`${node.name} has no fixed address in the compose file`, `give it networks.infra_net.ipv4_address (REDIS${node.index}_IP)`)
    }
    return node.clusterIp
  },

  async logTail(stack, node, lines = 10) {
    const container = serviceContainer(await listProjectContainers(stack), node.name)
    return container ? containerLogs(stack, container.id, { lines }) : ''
  },

  async redisCli(stack, args) {
    const containers = await listProjectContainers(stack)
    const node = stack.nodes.find((n) => serviceContainer(containers, n.name)?.state === 'running')
    if (!node) throw new TemporaryError(`no node container of project ${stack.projectName} is running`, 'start the stack with `pnpm run up`')
    // `-e REDISCLI_AUTH` without a value: docker copies it from our environment, so the password is in no argv.
    return runRedisCli({ ...stack, tls: containerTls(stack) }, args, { prefix: ['docker', 'exec', '-e', 'REDISCLI_AUTH', serviceContainer(containers, node.name)!.id], env: stack.env })
  },

  async fault(stack, nodes, fault) {
    const containers = await listProjectContainers(stack)
    const targets = nodes.map((node) => {
      const container = serviceContainer(containers, node.name)
      if (!container) throw new ConfigError(`${node.name} has no container in compose project ${stack.projectName}`, 'start the stack with `pnpm run up`')
      return container
    })
    const ids = targets.filter((c) => fault !== 'resume' || c.state === 'paused').map((c) => c.id)
    if (ids.length === 0) return
    // `docker restart` stops with SIGTERM (a clean SHUTDOWN) and a 10 s grace, like `docker stop`.
    const verb = { kill: 'kill', pause: 'pause', resume: 'unpause', restart: 'restart' }[fault]
    const out = await (await runShell({ quiet: true, nothrow: true, env: stack.env }))`docker ${verb} ${ids}`
    if (out.exitCode !== 0) throw new TemporaryError(`docker ${verb} ${nodes.map((n) => n.name).join(' ')} failed: ${lastLine(out.stderr) || 'no output'}`, `docker-compose -p ${stack.projectName} ps`)
    if (fault === 'restart') await Promise.all(nodes.map((node) => waitForNode(stack, node)))
  },
}

/**
 * Writes the ACL file the node containers load at each start (secret
 * `users_acl`) from the users' secrets, so a container (re)started by `up`,
 * `docker restart` or a crash always comes up with the current users; the
 * running ones get the same ACL from `up`'s applyAclEverywhere. Atomic: a
 * container starting meanwhile reads the old file or the new, never half.
 * 0640 group 999 like the user secrets; where we may not give the file to
 * group 999 (not root, not in that group) 0644: it holds only SHA-256
 * hashes, and the secrets directory (0700) keeps other host users out.
 */
export async function writeComposeAclFile(stack: Stack): Promise<void> {
  const users = stack.users
  if (!users) throw new ConfigError(`the compose runtime starts nodes from the ACL users' secrets, and ${stack.secretsDir} has none`, 'run `pnpm secrets:init`')
  const file = composeAclFile(stack)
  try {
    await writeFileAtomic(file, renderAclFile(users, stack.acl), { mode: 0o640 })
    const given = await chown(file, -1, CONTAINER_UID).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'EPERM' ? false : Promise.reject(error)),
    )
    await chmod(file, given ? 0o640 : 0o644)
  } catch (error) {
    throw describeFsError(error, { otherwise: 'point RC_SECRETS_DIR at another directory' })
  }
}

/** Formed by core's acceptance table (classifyFormation over every node's view): the init container would exit 0 without change (~2 s saved). */
async function isFormed(stack: Stack): Promise<boolean> {
  const clients = await connectAll(stack)
  try {
    const views = await Promise.all(
      clients.map(async (client) => {
        const entries = parseClusterNodes((await client.cluster('NODES')) as string)
        return { entries, myself: entries.find((e) => e.myself)! }
      }),
    )
    return classifyFormation(stack, views).state === 'formed'
  } finally {
    for (const client of clients) client.disconnect()
  }
}

/** The newest container of a service (a v1 `up` may leave an old one while it recreates). */
function serviceContainer(containers: readonly ProjectContainer[], service: string): ProjectContainer | undefined {
  const matches = containers.filter((c) => c.service === service)
  return matches.find((c) => c.state === 'running') ?? matches[0]
}

/** Runs a compose subcommand for this stack; failures become one line naming the cause. */
export async function runCompose(stack: Stack, args: readonly string[]): Promise<ProcessOutput> {
  const command = await findCompose(stack)
  const envFile = existsSync(stack.envFile) ? ['--env-file', stack.envFile] : []
  const files = ['-f', stack.composeFile, ...(publishBusPorts(stack) ? ['-f', busPortsFile(stack)] : []), ...(stack.tls ? ['-f', tlsComposeFile(stack)] : [])]
  // RC_DATA_DIR absolute, like RC_SECRETS_DIR: docker-compose.tls.yml mounts Prometheus' targets from it.
  const env = { ...stack.env, RC_DATA_DIR: stack.dataDir }
  const out = await (await runShell({ quiet: true, nothrow: true, env, cwd: dirname(stack.composeFile) }))`${command} -p ${stack.projectName} ${files} ${envFile} ${args}`
  if (out.exitCode !== 0) throw describeComposeError(stack, `${command.join(' ')} ${args[0]}`, out.stderr || out.stdout)
  return out
}

/** Published bus ports (RC_PUBLISH_BUS_PORTS=1) come from an override file beside the compose file. */
const busPortsFile = (stack: Stack) => join(dirname(stack.composeFile), 'docker-compose.bus-ports.yml')

/**
 * redis-cli inside a node container reads the certificates where
 * docker-compose.tls.yml mounts them; a node container holds the node
 * certificate (also a client certificate), not the toolkit's.
 */
function containerTls(stack: Stack): Stack['tls'] {
  if (!stack.tls) return undefined
  return { ...stack.tls, ca: '/run/secrets/tls_ca', clientCert: '/run/secrets/tls_node_cert', clientKey: '/run/secrets/tls_node_key' }
}

function describeComposeError(stack: Stack, what: string, output: string): Error {
  const text = output.replace(/\x1b\[[0-9;]*m/g, '')
  const line = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^(Creating|Starting|Recreating|Stopping|Removing)\b.*(done|\.\.\.)$/.test(l)).at(-1) ?? 'failed'
  if (/Pool overlaps|overlaps with other one|invalid pool request/i.test(text)) {
    return new ConfigError(`${what}: subnet ${stack.env.INFRA_NET_SUBNET ?? '172.19.0.0/16'} is taken by another docker network`, 'set INFRA_NET_SUBNET and REDISn_IP / REDIS_INIT_IP in .env to a free range (see `docker network ls`)')
  }
  if (/port is already allocated|address already in use/i.test(text)) {
    return new ConfigError(`${what}: a node port is already in use (${line})`, 'stop what uses it, or give the nodes other ports in .env (REDISn_PORT)')
  }
  if (/pull access denied|manifest unknown|No such image|repository does not exist|not found: manifest/i.test(text)) {
    return new ConfigError(`${what}: image not available (${line})`, 'docker pull it, or build one offline: scripts/build-redis-image.sh and set REDIS_IMAGE/REDIS_INIT_IMAGE')
  }
  if (/network .* (was found but has incorrect label|declared as external)/i.test(text)) {
    return new ConfigError(`${what}: ${line}`, `another project owns network ${stack.env.INFRA_NET_NAME ?? 'infra_net'}: set INFRA_NET_NAME in .env`)
  }
  return new TemporaryError(`${what} failed: ${line}`, `run it by hand for details: docker-compose -p ${stack.projectName} -f ${stack.composeFile} ps`)
}

/** Waits for PING on the published port; a container that exits or restarts fails at once, with its last log lines. */
async function waitForNode(stack: Stack, node: StackNode): Promise<void> {
  let lastInspect = 0
  const restarts = { seen: undefined as number | undefined }
  await waitFor(
    async () => {
      try {
        const client = await connectNode(stack, node, { connectTimeoutMs: 1000 })
        try {
          return (await client.ping()) === 'PONG' || 'no PONG'
        } finally {
          client.disconnect()
        }
      } catch (error) {
        if (error instanceof ConfigError) throw error
        if (Date.now() - lastInspect > 500) {
          lastInspect = Date.now()
          await assertNodeContainerUp(stack, node, restarts)
        }
        throw error
      }
    },
    { timeoutMs: stack.timeoutMs, intervalMs: 50, what: `${node.name} to answer PING on 127.0.0.1:${node.port}`, hint: `docker-compose -p ${stack.projectName} logs ${node.name}` },
  )
}

/** A node container that is not running, or restarted since we first looked (a crash loop under `restart:`), fails the wait. */
async function assertNodeContainerUp(stack: Stack, node: StackNode, restarts: { seen: number | undefined }): Promise<void> {
  const container = serviceContainer(await listProjectContainers(stack), node.name)
  const info = container && (await inspectContainer(stack, container.id))
  if (!container || !info) throw new TemporaryError(`${node.name} has no container`)
  restarts.seen ??= info.RestartCount
  if (info.State.Running && !info.State.Restarting && info.RestartCount === restarts.seen) return
  const tail = (await containerLogs(stack, container.id, { lines: 3 })).replace(/\n/g, ' | ')
  const how = info.State.Running ? `restarts (${info.RestartCount} times)` : `exited with code ${info.State.ExitCode}`
  throw new ConfigError(`${node.name} container ${how}: ${tail || 'no log'}`, `docker-compose -p ${stack.projectName} logs ${node.name}`)
}

/**
 * Waits (`docker wait`, with a deadline) for the init container that
 * `up -d` just started to exit; returns its last log line, or throws with it.
 */
async function waitForInit(stack: Stack): Promise<string> {
  const hint = `docker-compose -p ${stack.projectName} logs ${INIT_SERVICE}`
  const container = serviceContainer(await listProjectContainers(stack), INIT_SERVICE)
  const startedAt = container && (await inspectContainer(stack, container.id))?.State.StartedAt
  if (!container || !startedAt) throw new TemporaryError(`${INIT_SERVICE} has no container after \`up\``, hint)
  const waited = await (await runShell({ quiet: true, nothrow: true, env: stack.env, timeout: stack.timeoutMs }))`docker wait ${container.id}`
  if (waited.exitCode !== 0) throw new TemporaryError(`${INIT_SERVICE} did not finish within ${stack.timeoutMs / 1000}s`, hint)
  const { id } = container
  const code = Number(waited.stdout.trim())
  const log = await containerLogs(stack, id, { lines: 20, since: startedAt })
  const line = lastLine(log).replace(/^init-cluster: (\[[\d.]+s\] )?/, '')
  if (code === 0) return line
  const message = `${INIT_SERVICE} exited with code ${code}: ${line || 'no log'}`
  if (code === 1) throw new CheckFailedError(message, `${hint}; nothing was changed: repair by hand or start from empty volumes (\`pnpm run down --purge\`)`)
  if (code === 78) throw new ConfigError(message, hint)
  throw new TemporaryError(message, hint)
}
