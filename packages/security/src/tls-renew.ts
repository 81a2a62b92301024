import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { basename } from 'node:path'
import { ConfigError, TemporaryError, UsageError, connectAll, describeSubject, throwIfStopped, type NodeClient, type Stack, type StackNode } from '@redis-cluster/core'
import { restartExporter } from './_rotate-consumers.ts'
import { finishRenewal, installStaged, issueRenewal, requireCa, stageRenewal, stagedDir, waitingAt, type RenewPart } from './_tls-renew-files.ts'
import { configGet } from './node-checks.ts'
import { DEFAULT_CERT_DAYS } from './tls-certs.ts'
import { readCertificateFile } from './tls-expiry.ts'
import { readPresentedCertificate } from './tls-node-certs.ts'

export interface RenewOptions {
  days?: number
  /** --client-only / --node-only: one of the two certificates. */
  only?: RenewPart
  progress?: (line: string) => void
}

/** A node after the run: the certificate it presents, and whether this run made it load it. */
export interface RenewedNode {
  readonly node: string
  readonly reloaded: boolean
  readonly validTo: string
}

export interface RenewResult {
  readonly dir: string
  /** No certificate issued: this run finished an interrupted renewal (<tls>/.renew was there). */
  readonly resumed: boolean
  /** The certificates issued now, each with its end of validity. */
  readonly issued: readonly { file: string; validTo: string }[]
  /** The files replaced; in place (their inodes kept: compose's file secrets) or renamed over. */
  readonly replaced: readonly string[]
  readonly inPlace: boolean
  /** Every node (none on external): each presents node.crt now. */
  readonly nodes: readonly RenewedNode[]
  readonly notes: readonly string[]
}

/**
 * Renews the node and the toolkit's client certificate from the stack's CA
 * without a restart:
 *   1. new keys and certificates in a private directory (nothing changed yet);
 *   2. every node must answer (75 otherwise, nothing changed), dialled with
 *      the new client certificate, and reached even when its certificate
 *      has already expired (core's acceptExpiredCertificate);
 *   3. the new files are staged (<tls>/.renew: the commit point, and the
 *      renewal's state until step 5 passed), then each replaces its own
 *      (in place on compose: _tls-renew-files.ts);
 *   4. each node still presenting another certificate than node.crt reloads
 *      it: CONFIG SET tls-cert-file/tls-key-file to the paths it has
 *      (Redis' VOLATILE_CONFIG re-reads them, even unchanged; open
 *      connections keep theirs);
 *   5. a new handshake with each node must present node.crt (75 naming the
 *      nodes that do not, and those that do).
 * While <tls>/.renew exists a renewal is unfinished: a re-run issues
 * nothing, puts what is left in place and reloads the nodes that still
 * present another certificate than node.crt. External: the nodes'
 * certificates are their operator's (2); the client certificate may be renewed.
 */
export async function renewTlsCertificates(stack: Stack, { days = DEFAULT_CERT_DAYS, only, progress = () => {} }: RenewOptions = {}): Promise<RenewResult> {
  const tls = stack.tls
  if (!tls) throw new ConfigError('RC_TLS is not set: no node presents the certificates in secrets/tls/', 'set RC_TLS=1 in .env (then `pnpm run up`), or create missing files with `pnpm secrets:tls`')
  if (tls.remote && only !== 'client') {
    throw new UsageError(
      "RC_RUNTIME=external: the node certificates are on the nodes' hosts, installed by their operator",
      "renew them there (README, TLS on an external cluster: `pnpm secrets:tls --host ...` makes one from this CA, CONFIG SET tls-cert-file loads it); `--client-only` renews the toolkit's own client certificate",
    )
  }
  requireCa(tls)
  const parts: RenewPart[] = only ? [only] : ['node', 'client']
  const staged = existsSync(stagedDir(tls))
  let work: string | undefined
  if (!staged) {
    progress(`issuing ${parts.map((p) => `${p}.crt`).join(' and ')} from ${basename(tls.ca)} (${days} days)`)
    work = await issueRenewal(stack, tls, parts, days)
  }
  let clients: NodeClient[] = []
  try {
    // Dial with the new client certificate where there is one: the old one may have expired.
    const waiting = work ?? stagedDir(tls)
    const clientCert = existsSync(waitingAt(waiting, tls.clientCert)) ? { clientCert: waitingAt(waiting, tls.clientCert), clientKey: waitingAt(waiting, tls.clientKey) } : {}
    clients = await connectAll({ ...stack, tls: { ...tls, ...clientCert } }, stack.nodes, { acceptExpiredCertificate: !tls.remote })
    const before = tls.remote ? [] : await presentedBy(stack.nodes)
    progress(`all ${stack.nodes.length} nodes answer`)
    throwIfStopped()
    if (work) await stageRenewal(work, tls)
    const issued = work ? parts.map((part) => (part === 'node' ? tls.nodeCert : tls.clientCert)) : []
    const replaced = await installStaged(tls, { inPlace: stack.runtime === 'compose' })
    for (const file of replaced) progress(`replaced ${file}`)
    const nodes = tls.remote ? [] : await reload(stack, clients, before, progress)
    await finishRenewal(tls)
    const notes = await clientNotes(stack, replaced)
    return {
      dir: tls.dir,
      resumed: staged,
      issued: issued.map((file) => ({ file, validTo: new Date(readCertificateFile(file).validTo).toISOString() })),
      replaced,
      inPlace: stack.runtime === 'compose',
      nodes,
      notes,
    }
  } finally {
    for (const client of clients) client.disconnect()
    // Not staged (a node did not answer, a stop): the new files never counted.
    if (work) await rm(work, { recursive: true, force: true })
  }
}

/** Which certificate each node presents in a new handshake (its fingerprint); a node that shows none fails the run (75): nothing changed yet. */
async function presentedBy(nodes: readonly StackNode[]): Promise<string[]> {
  const presented = await Promise.all(nodes.map(readPresentedCertificate))
  const problems = presented.flatMap((p) => ('problem' in p ? [p.problem] : []))
  if (problems.length > 0) throw new TemporaryError(`${problems.join('; ')}: nothing changed`, 'start or resume it (`pnpm status` shows the nodes), then run `pnpm secrets:tls:renew` again')
  return presented.map((p) => ('fingerprint' in p ? p.fingerprint : ''))
}

/**
 * Step 4 and 5: every node not presenting node.crt reloads it (all at once,
 * each finishes or fails on its own), then each node's new handshake must
 * show node.crt. A node that did not: 75 naming it, and the nodes that did.
 */
async function reload(stack: Stack, clients: readonly NodeClient[], before: readonly string[], progress: (line: string) => void): Promise<RenewedNode[]> {
  const file = readCertificateFile(stack.tls!.nodeCert)
  const stale = stack.nodes.map((_, i) => before[i] !== file.fingerprint256)
  const outcomes = await Promise.allSettled(
    stack.nodes.map(async (node, i) => {
      if (!stale[i]) return
      const client = clients[i]!
      // The paths this node was started with (compose: /run/secrets/tls_node_cert), set again: Redis then re-reads both files.
      const [cert, key] = [await configGet(client, 'tls-cert-file'), await configGet(client, 'tls-key-file')]
      await client.config('SET', 'tls-cert-file', cert, 'tls-key-file', key)
      progress(`${node.name} reloaded its certificate`)
    }),
  )
  const after = await Promise.all(stack.nodes.map(readPresentedCertificate))
  const renewed = after.map((p) => 'fingerprint' in p && p.fingerprint === file.fingerprint256)
  if (renewed.every(Boolean)) return stack.nodes.map((node, i) => ({ node: node.name, reloaded: stale[i]!, validTo: new Date(file.validTo).toISOString() }))
  // each reason names its node: a typed error, a handshake's problem, or this
  const why = (node: StackNode, i: number) => {
    const [outcome, shown] = [outcomes[i]!, after[i]!]
    if (outcome.status === 'rejected') return (outcome.reason as Error).message
    return 'problem' in shown ? shown.problem : `${describeSubject(node)} still presents the old certificate`
  }
  const missing = stack.nodes.flatMap((node, i) => (renewed[i] ? [] : [why(node, i)]))
  const done = stack.nodes.filter((_, i) => renewed[i]).map((n) => n.name)
  throw new TemporaryError(
    `${stack.tls!.nodeCert} is renewed, but not every node presents it: ${missing.join('; ')}; ${done.length > 0 ? `${done.join(', ')} present it` : 'no node presents it yet'}`,
    'start or resume the nodes named (one that starts reads the new files), then run `pnpm secrets:tls:renew` again: it only reloads the nodes still presenting the old certificate',
  )
}

/** Compose: the exporter may hold the client certificate it read at its start (the old one may have expired): it restarts with the new one (a scrape gap; no node restarts). */
async function clientNotes(stack: Stack, replaced: readonly string[]): Promise<string[]> {
  if (!replaced.includes(stack.tls!.clientCert)) return []
  if (stack.runtime !== 'compose') return [`the toolkit presents ${stack.tls!.clientCert} from its next command on`]
  return [await restartExporter(stack, 'the new client certificate')]
}
