import type { StackNode } from '@redis-cluster/core'
import { judgeNodes, type AuditCheck, type AuditContext, type Verdict } from './audit.ts'
import { composeProject, composeService, type Container } from './_containers.ts'
import { configGet } from './node-checks.ts'

const LOOPBACK = ['127.0.0.1', '::1']
const RECREATE = 'pnpm down && pnpm run up'

/**
 * Local and external: each node's `bind` (CONFIG GET) must list only the
 * address it is dialled at and loopback. Compose: the containers listen on
 * all their interfaces by design, so what counts is where the host publishes
 * their ports (REDIS_BIND_ADDRESS, 127.0.0.1 by default) and that the bus
 * ports are not published at all.
 */
export const clientPortsCheck: AuditCheck = {
  id: 'client-ports',
  title: 'client ports bound only where configured, bus ports not published',
  async run(context) {
    if (context.runtime.name === 'compose') return publishedPorts(context)
    const problems = await wrongBinds(context, context.stack.nodes)
    const external = !context.runtime.ownsNodes
    return judgeNodes(
      problems,
      `every node binds only the address it is dialled at or loopback (${context.stack.nodes.length} nodes)`,
      'on each node named: `CONFIG SET bind "<the address clients dial> 127.0.0.1"` (pnpm cli), and the same `bind` line in its config file so a restart keeps it',
      external ? 'external runtime: only each node\'s `bind` (CONFIG GET) is checked; what firewalls between the hosts let through (client and bus ports) is not' : undefined,
    )
  },
}

async function wrongBinds({ stack, clients }: AuditContext, nodes: readonly StackNode[], also: readonly string[] = []): Promise<string[]> {
  const answers = await Promise.all(nodes.map(async (node) => ({ node, bind: await configGet(clients[stack.nodes.indexOf(node)]!, 'bind') })))
  return answers.flatMap(({ node, bind }) => {
    // `-` marks an optional address (skipped when the interface is missing); an empty bind means every interface
    const addresses = bind.split(/\s+/).filter(Boolean).map((a) => a.replace(/^-/, ''))
    const allowed = new Set([node.host, ...LOOPBACK, ...also])
    const wide = addresses.length === 0 ? ['every interface'] : addresses.filter((a) => !allowed.has(a))
    return wide.length > 0 ? [`${node.name}: binds ${wide.join(' ')} (bind "${bind}")`] : []
  })
}

async function publishedPorts(context: AuditContext): Promise<Verdict> {
  const { stack } = context
  const expected = stack.env.REDIS_BIND_ADDRESS || '127.0.0.1'
  const containers = await context.containers()
  const byService = new Map(containers.filter((c) => composeProject(c) === stack.projectName).map((c) => [composeService(c), c]))
  const problems: string[] = []
  const hostNetwork: StackNode[] = []
  let busPublished = false
  for (const node of stack.nodes) {
    const container: Container | undefined = byService.get(node.name)
    if (!container) {
      problems.push(`${node.name}: no container of project ${stack.projectName} found`)
      continue
    }
    // docker-compose.node.yml: host networking publishes nothing; the node binds REDIS_HOST_ADDRESS itself
    if (container.HostConfig.NetworkMode === 'host') {
      hostNetwork.push(node)
      continue
    }
    const bindings = container.HostConfig.PortBindings ?? {}
    const wide = (bindings[`${node.port}/tcp`] ?? []).map((b) => b.HostIp || '0.0.0.0').filter((ip) => ip !== expected)
    if (wide.length > 0) problems.push(`${node.name}: client port ${node.port} published on ${wide.join(', ')} (configured: ${expected})`)
    const bus = bindings[`${node.busPort}/tcp`] ?? []
    if (bus.length > 0) {
      busPublished = true
      problems.push(`${node.name}: bus port ${node.busPort} published on ${bus.map((b) => b.HostIp || '0.0.0.0').join(', ')}`)
    }
  }
  const hostAddress = stack.env.REDIS_HOST_ADDRESS
  problems.push(...(await wrongBinds(context, hostNetwork, hostAddress ? [hostAddress] : [])))
  const fix = busPublished && stack.publishBusPorts
    ? `unset RC_PUBLISH_BUS_PORTS (only the nodes talk on the bus) and recreate the containers: ${RECREATE}`
    : `publish client ports only on REDIS_BIND_ADDRESS (.env, default 127.0.0.1) and no bus port, as compose/docker-compose.yml does: ${RECREATE}`
  return judgeNodes(problems, `client ports published on ${expected} only, bus ports not published (${stack.nodes.length} nodes)`, fix)
}
