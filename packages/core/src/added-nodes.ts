import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describeFsError } from './fs-errors.ts'
import { NODE_SERVICE, type StackNode } from './stack.ts'

/**
 * Nodes added to the spec's layout by `cluster:add-node`. On compose they
 * are services of the compose file marked `REDIS_ADDED` (the file stays the
 * topology's source); on the local runtime they are recorded in
 * `<data dir>/added-nodes.json`, which loadStack reads beside the compose
 * file, so status, backup and check see them and `up`/`down` start and stop
 * them with the stack's config.
 */
export interface AddedNode {
  /** `redis-node-N`, N past the spec's nodes. */
  readonly name: string
  readonly port: number
  readonly busPort: number
  /** `master`, or `replica-of redis-node-1`. */
  readonly role: string
}

export const addedNodesFile = (dataDir: string) => join(dataDir, 'added-nodes.json')

/** The record, or none; a record that does not parse is a problem for loadStack to report. */
export function readAddedNodes(dataDir: string): { nodes: AddedNode[] } | { problem: string } {
  const file = addedNodesFile(dataDir)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return { nodes: [] }
  }
  try {
    const nodes = (JSON.parse(text) as { nodes?: unknown }).nodes
    if (Array.isArray(nodes) && nodes.every(isAddedNode)) return { nodes }
  } catch {
    // reported below
  }
  return { problem: `${file} is not a list of added nodes ({"nodes":[{"name","port","busPort","role"}]}): fix or delete it` }
}

function isAddedNode(value: unknown): value is AddedNode {
  const v = value as Record<string, unknown>
  return typeof v?.name === 'string' && Number.isInteger(v.port) && Number.isInteger(v.busPort) && typeof v.role === 'string'
}

/** Replaces the record atomically (write, rename): a crash leaves the old or the new list, never half of one. */
export function writeAddedNodes(dataDir: string, nodes: readonly AddedNode[]): void {
  const file = addedNodesFile(dataDir)
  try {
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(`${file}.tmp`, `${JSON.stringify({ nodes }, null, 2)}\n`)
    renameSync(`${file}.tmp`, file)
  } catch (error) {
    throw describeFsError(error, { otherwise: 'point RC_DATA_DIR at a writable directory' })
  }
}

/** `master` or `replica-of NAME`, as written in the record or a compose service's REDIS_ADDED. */
export function parseAddedRole(text: string): { role: 'master' } | { role: 'replica'; of: string } | undefined {
  if (text.trim() === 'master') return { role: 'master' }
  const of = /^replica-of\s+(\S+)$/.exec(text.trim())?.[1]
  return of ? { role: 'replica', of } : undefined
}

/**
 * Appends the nodes added by cluster:add-node (compose services marked
 * REDIS_ADDED, and the local runtime's record) after the spec's; returns
 * what is wrong with them. A replica names its master, which must be a node.
 */
export function appendAddedNodes(nodes: StackNode[], added: readonly (AddedNode & { clusterIp?: string })[], dataDir: string): string[] {
  const problems: string[] = []
  const indexOf = (node: AddedNode) => Number(NODE_SERVICE.exec(node.name)?.[1])
  // in index order, so a replica may name a master added after it in the list
  for (const node of [...added].sort((a, b) => indexOf(a) - indexOf(b))) {
    const index = indexOf(node)
    const role = parseAddedRole(node.role)
    const master = role?.role === 'replica' ? nodes.find((n) => n.name === role.of) : undefined
    if (!Number.isInteger(index) || nodes.some((n) => n.name === node.name || n.index === index)) problems.push(`added node ${node.name}: not a free redis-node-N name`)
    else if (!role) problems.push(`added node ${node.name}: role '${node.role}' is neither 'master' nor 'replica-of redis-node-N'`)
    else if (role.role === 'replica' && !master) problems.push(`added node ${node.name}: replicates ${role.of}, which is not a node of this stack`)
    else {
      nodes.push({
        index,
        name: node.name,
        port: node.port,
        busPort: node.busPort,
        host: '127.0.0.1',
        clusterIp: node.clusterIp,
        role: role.role,
        masterIndex: master?.index,
        slots: undefined,
        dataDir: join(dataDir, node.name),
        added: true,
      })
    }
  }
  return problems
}
