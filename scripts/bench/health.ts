import { setTimeout as sleep } from 'node:timers/promises'
import { SLOT_COUNT, connectAll, parseInfo, type Stack } from '../../packages/core/src/index.ts'
import { assertNotAborted } from './measure.ts'

export type Client = Awaited<ReturnType<typeof connectAll>>[number]

/**
 * The bench's own full-health check, the same for our flow and the standard
 * one (so neither side is judged by the code under test): on every node
 * cluster_state:ok, 16384 slots ok and all nodes known; `replicas` nodes are
 * replicas with the link up and no sync in progress; every master has its
 * replicas online with their acknowledged offset equal to master_repl_offset.
 * Role counts matter: before redis-cli sends REPLICATE all six are masters.
 */
export async function readProblems(clients: readonly Client[], replicas: number): Promise<string[]> {
  const infos = await Promise.all(
    clients.map(async (client) => {
      const [cluster, replication] = await Promise.all([client.cluster('INFO') as Promise<string>, client.info('replication')])
      return { ...parseInfo(cluster), ...parseInfo(replication) }
    }),
  )
  const problems: string[] = []
  infos.forEach((info, i) => {
    const say = (what: string) => problems.push(`node ${i}: ${what}`)
    if (info.cluster_state !== 'ok') say(`cluster_state:${info.cluster_state}`)
    if (Number(info.cluster_slots_ok) !== SLOT_COUNT) say(`cluster_slots_ok:${info.cluster_slots_ok}`)
    if (Number(info.cluster_known_nodes) !== clients.length) say(`cluster_known_nodes:${info.cluster_known_nodes}`)
    if (info.role === 'slave') {
      if (info.master_link_status !== 'up') say(`master_link_status:${info.master_link_status}`)
      if (info.master_sync_in_progress !== '0') say('sync in progress')
      return
    }
    const connected = Number(info.connected_slaves)
    if (connected === 0 && replicas > 0) say('master without a replica')
    for (let r = 0; r < connected; r++) {
      const replica = Object.fromEntries((info[`slave${r}`] ?? '').split(',').map((kv) => kv.split('=')))
      if (replica.state !== 'online') say(`replica ${replica.port} ${replica.state}`)
      else if (replica.offset !== info.master_repl_offset) say(`replica ${replica.port} at offset ${replica.offset}/${info.master_repl_offset}`)
    }
  })
  const replicaCount = infos.filter((info) => info.role === 'slave').length
  if (replicaCount !== replicas) problems.push(`${replicaCount} of ${replicas} replicas`)
  return problems
}

/** Polls every 10 ms until healthy; returns performance.now() of the first healthy reading. */
export async function waitHealthy(clients: readonly Client[], replicas: number, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs
  let problems: string[] = []
  for (;;) {
    assertNotAborted()
    problems = await readProblems(clients, replicas)
    if (problems.length === 0) return performance.now()
    if (performance.now() > deadline) throw new Error(`not healthy after ${timeoutMs / 1000}s: ${problems.slice(0, 4).join('; ')}`)
    await sleep(10)
  }
}

/** Connects to every node, retrying every 10 ms until all answer (AUTH + connect); returns performance.now() too. */
export async function connectWhenUp(stack: Stack, timeoutMs = 15_000): Promise<{ clients: Client[]; at: number }> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    assertNotAborted()
    try {
      const clients = await connectAll(stack, stack.nodes, { connectTimeoutMs: 1000 })
      return { clients, at: performance.now() }
    } catch (error) {
      if (performance.now() > deadline) throw error
      await sleep(10)
    }
  }
}

export function disconnectAll(clients: readonly Client[]): void {
  for (const client of clients) client.disconnect()
}

export interface HealthWatch {
  /** Stops polling; resolves to performance.now() of the first healthy reading, if there was one. */
  stop(): Promise<number | undefined>
}

/**
 * Polls in the background (every 10 ms) while something else brings the
 * cluster up, to see when the bench's condition first held, whatever the
 * command under test waits for. Connects once every node answers.
 */
export function watchHealthy(stack: Stack, replicas: number): HealthWatch {
  let stopped = false
  let seenAt: number | undefined
  const loop = (async () => {
    let clients: Client[] | undefined
    while (!stopped && !clients) clients = await connectAll(stack, stack.nodes, { connectTimeoutMs: 1000 }).catch(() => sleep(20).then(() => undefined))
    if (!clients) return
    try {
      while (!stopped && seenAt === undefined) {
        if ((await readProblems(clients, replicas).catch(() => ['read failed'])).length === 0) seenAt = performance.now()
        else await sleep(10)
      }
    } finally {
      disconnectAll(clients)
    }
  })().catch(() => undefined) // a failed watch only means no reading; the timed run decides
  return {
    async stop() {
      stopped = true
      await loop
      return seenAt
    },
  }
}
