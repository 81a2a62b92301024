import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import { looseSecret, type StackNode, type StackTls } from '@redis-cluster/core'
import { stagedDir } from './_tls-renew-files.ts'
import { judgeNodes, type AuditCheck } from './audit.ts'
import { askNodes, configGet } from './node-checks.ts'
import { describeExpiry, judgeExpiry, readCertificateExpiry, readCertificateFile, type CertificateExpiry } from './tls-expiry.ts'
import { readNodeCertificates, readPresentedCertificate } from './tls-node-certs.ts'

const RESTART = '`pnpm run down && pnpm run up` (under RC_TLS=1 the local and compose runtimes start every node with port 0 and the tls-* lines)'
const RECONFIGURE = 'give each node `port 0`, a tls-port, `tls-cluster yes` and `tls-replication yes` in its redis.conf, and restart it'
const RENEW = '`pnpm secrets:tls:renew` (new node and client certificates from the CA; every node loads its new one without a restart)'
const RENEW_CLIENT = "`pnpm secrets:tls:renew --client-only` (the toolkit's client certificate, from ca.key)"
const NEW_CA = 'a CA cannot be renewed in place: move secrets/tls away, run `pnpm secrets:tls`, then `pnpm run down && pnpm run up`'
const CHMOD = 'chmod 600 the private key named (compose: node.key and client.key 640, group 999; ca.key stays 600)'
const RENEW_ON_HOSTS = "renew the named nodes' certificates on their hosts (`pnpm secrets:tls --host ...` makes one from this CA) and install them: `CONFIG SET tls-cert-file` and `tls-key-file` load them without a restart"
const UNREAD = 'check that each node named answers on its TLS port, then audit again'
const UNFINISHED = '`pnpm secrets:tls:renew` again: it finishes the renewal, reloading only the nodes that still present another certificate'

/**
 * RC_TLS=1: every node speaks TLS only (plaintext port 0, a tls-port, TLS on
 * the bus and replication links), and no certificate in <secretsDir>/tls/ has
 * expired; one that expires within WARN_DAYS passes with a note; and the
 * private keys are as closed as the user secrets (core's looseSecret). On
 * external the nodes' own certificates are on their hosts: each node's is
 * read over the handshake and judged by the same rule, and a node whose
 * certificate cannot be read FAILs (it is not known to be fine). Without
 * RC_TLS the stack is plaintext by choice: nothing to check.
 */
export const tlsCheck: AuditCheck = {
  id: 'tls',
  title: 'TLS only on every node where RC_TLS=1; certificates not expired',
  async run(context) {
    const { stack } = context
    if (!stack.tls) return { skip: true, detail: 'RC_TLS is not set: the nodes speak plaintext (set RC_TLS=1 and run `pnpm secrets:tls` for TLS)' }
    const answers = await askNodes(context, async (client) => {
      const [port, tlsPort, cluster, replication] = await Promise.all(['port', 'tls-port', 'tls-cluster', 'tls-replication'].map((name) => configGet(client, name)))
      return { port, tlsPort, cluster, replication }
    })
    const plaintext = answers.flatMap(({ node, answer }) => [
      ...(answer.port !== '0' ? [`${node}: plaintext port ${answer.port} open`] : []),
      ...(answer.tlsPort === '0' || answer.tlsPort === '' ? [`${node}: no tls-port`] : []),
      ...(answer.cluster !== 'yes' ? [`${node}: tls-cluster ${answer.cluster || 'no'} (plaintext bus)`] : []),
      ...(answer.replication !== 'yes' ? [`${node}: tls-replication ${answer.replication || 'no'} (plaintext replication)`] : []),
    ])
    // external: the nodes' certificates are on their hosts, not here; the toolkit's CA and client files are
    const certificates = (stack.tls.remote ? [stack.tls.ca, stack.tls.clientCert] : [stack.tls.ca, stack.tls.nodeCert, stack.tls.clientCert]).map((file) => readCertificateExpiry(file))
    const files = judgeExpiry(certificates)
    const renew = (lines: readonly string[]) => renewFix(stack.tls!, lines)
    const presented = stack.tls.remote ? await readNodeCertificates(stack) : []
    const stale = stack.tls.remote ? [] : await staleNodes(stack.tls, stack.nodes)
    const unread = presented.flatMap((c) => ('problem' in c ? [c.problem] : []))
    const nodeCertificates = presented.flatMap((c) => ('expiry' in c ? [c.expiry] : []))
    const nodes = judgeExpiry(nodeCertificates)
    // compose's containers read the node and client keys (0640 group 999 allowed there); the CA key nobody but secrets:tls
    const shared = (stack.tls.remote ? [stack.tls.clientKey] : [stack.tls.nodeKey, stack.tls.clientKey]).map((file) => looseSecret(file, { forContainers: context.runtime.name === 'compose' }))
    const loose = [...shared, ...(stack.tls.remote ? [] : [looseSecret(stack.tls.caKey)])].flatMap((found) => found?.problem ?? [])
    const note = [
      files.soon.length > 0 ? `renew soon: ${files.soon.join('; ')} (${renew(files.soon)})` : '',
      nodes.soon.length > 0 ? `renew soon, node certificates: ${nodes.soon.join('; ')} (${RENEW_ON_HOSTS})` : '',
      stale.length === 0 && existsSync(stagedDir(stack.tls)) ? `${stagedDir(stack.tls)} is left from a renewal that did not finish (${UNFINISHED})` : '',
    ].filter(Boolean).join('; ')
    const fix = [
      plaintext.length > 0 ? (stack.tls.remote ? RECONFIGURE : RESTART) : '',
      files.expired.length > 0 ? renew(files.expired) : '',
      nodes.expired.length > 0 ? RENEW_ON_HOSTS : '',
      unread.length > 0 ? UNREAD : '',
      loose.length > 0 ? CHMOD : '',
      stale.length > 0 ? UNFINISHED : '',
    ].filter(Boolean).join('; ')
    const shown = `certificates: ${certificates.map((c) => `${basename(c.source)} ${describeExpiry(c)}`).join(', ')}`
    return judgeNodes(
      [...plaintext, ...files.expired, ...nodes.expired.map((line) => `node certificate of ${line}`), ...unread, ...stale, ...loose],
      `TLS only on all ${answers.length} nodes (port 0, tls-port, tls-cluster and tls-replication yes); ${shown}${stack.tls.remote ? `; node certificates (soonest expiry in each node's chain): ${groupByExpiry(nodeCertificates)}` : ''}`,
      fix,
      note || undefined,
    )
  },
}

/** The fix for certificate files expiring or expired (judgeExpiry's lines): the CA needs a new one and a restart; the others are renewed in place. */
function renewFix(tls: StackTls, lines: readonly string[]): string {
  const ca = lines.some((line) => line.startsWith(`${tls.ca} `))
  const others = lines.some((line) => !line.startsWith(`${tls.ca} `))
  return [ca ? NEW_CA : '', others ? (tls.remote ? RENEW_CLIENT : RENEW) : ''].filter(Boolean).join('; ')
}

/** `127.0.0.2:7000, 127.0.0.3:7000 until 2027-11-26 (364 days left)`: nodes sharing an expiry listed once. */
function groupByExpiry(certificates: readonly CertificateExpiry[]): string {
  const groups = new Map<string, string[]>()
  for (const c of certificates) groups.set(describeExpiry(c), [...(groups.get(describeExpiry(c)) ?? []), c.source])
  return [...groups].map(([expiry, nodes]) => `${nodes.join(', ')} ${expiry}`).join('; ')
}

/**
 * Local and compose: the nodes whose TLS handshake presents another
 * certificate than node.crt. The file's dates say nothing about such a
 * node (a renewal that did not reach it, or a certificate loaded by hand):
 * it is named, never judged by the file.
 */
async function staleNodes(tls: StackTls, nodes: readonly StackNode[]): Promise<string[]> {
  const file = readCertificateFile(tls.nodeCert)
  const presented = await Promise.all(nodes.map(readPresentedCertificate))
  return presented.flatMap((p) => {
    if ('problem' in p) return [p.problem]
    return p.fingerprint === file.fingerprint256 ? [] : [`${p.node}: presents another certificate than ${tls.nodeCert} (until ${p.validTo.toISOString().slice(0, 10)})`]
  })
}
