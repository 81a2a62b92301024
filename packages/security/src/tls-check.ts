import { basename } from 'node:path'
import { looseSecret } from '@redis-cluster/core'
import { judgeNodes, type AuditCheck } from './audit.ts'
import { askNodes, configGet } from './node-checks.ts'
import { WARN_DAYS, describeExpiry, readCertificateExpiry } from './tls-expiry.ts'

const RESTART = '`pnpm run down && pnpm run up` (under RC_TLS=1 the local and compose runtimes start every node with port 0 and the tls-* lines)'
const RECONFIGURE = 'give each node `port 0`, a tls-port, `tls-cluster yes` and `tls-replication yes` in its redis.conf, and restart it'
const RENEW = 'move the expired certificate and its key away, run `pnpm secrets:tls`, then restart the nodes'
const CHMOD = 'chmod 600 the private key named (compose: 640, group 999)'

/**
 * RC_TLS=1: every node speaks TLS only (plaintext port 0, a tls-port, TLS on
 * the bus and replication links), and no certificate in <secretsDir>/tls/ has
 * expired; one that expires within WARN_DAYS passes with a note; and the
 * private keys are as closed as the user secrets (core's looseSecret). Without
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
    const expired = certificates.filter((c) => c.expired).map((c) => `${c.file} ${describeExpiry(c)}`)
    const loose = (stack.tls.remote ? [stack.tls.clientKey] : [stack.tls.caKey, stack.tls.nodeKey, stack.tls.clientKey]).flatMap((file) => looseSecret(file, { forContainers: context.runtime.name === 'compose' })?.problem ?? [])
    const soon = certificates.filter((c) => !c.expired && c.daysLeft < WARN_DAYS)
    const note = soon.length > 0 ? `renew soon: ${soon.map((c) => `${c.file} ${describeExpiry(c)}`).join('; ')} (${RENEW})` : undefined
    const fix = [plaintext.length > 0 ? (stack.tls.remote ? RECONFIGURE : RESTART) : '', expired.length > 0 ? RENEW : '', loose.length > 0 ? CHMOD : ''].filter(Boolean).join('; ')
    return judgeNodes(
      [...plaintext, ...expired, ...loose],
      `TLS only on all ${answers.length} nodes (port 0, tls-port, tls-cluster and tls-replication yes); certificates: ${certificates.map((c) => `${basename(c.file)} ${describeExpiry(c)}`).join(', ')}`,
      fix,
      note,
    )
  },
}
