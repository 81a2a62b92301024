import { CONTAINER_UID } from '@redis-cluster/core'
import type { TlsCertsResult } from './tls-certs.ts'
import { describeExpiry, readCertificateExpiry } from './tls-expiry.ts'

/** Which files it created (certificates with their end of validity) and kept, and what the node certificate covers. */
export function renderTlsCerts(result: TlsCertsResult): string {
  const keyMode = result.keyMode === '0640' ? `mode 0640, group ${CONTAINER_UID}` : 'mode 0600'
  const line = (file: string) => (file.endsWith('.key') ? `created ${file} (private key, ${keyMode})` : `created ${file} (${describeExpiry(readCertificateExpiry(file))})`)
  return [
    ...result.created.map(line),
    ...(result.sans.length > 0 ? [`the node certificate covers ${result.sans.join(', ')}`] : []),
    ...(result.kept.length > 0 ? [`kept ${result.kept.join(', ')} (existing files are never overwritten)`] : []),
    ...(result.external && result.created.some((f) => f.endsWith('node.crt'))
      ? ['on each node: copy ca.crt, node.crt and node.key there; redis.conf: port 0, tls-port <its port>, tls-cert-file, tls-key-file, tls-ca-cert-file, tls-cluster yes, tls-replication yes; restart it']
      : []),
    result.created.length > 0 && result.external ? 'then set RC_TLS=1 in .env (RC_SEEDS: the TLS ports)' : result.created.length > 0 ? `set RC_TLS=1 in .env and restart the nodes (\`pnpm run down && pnpm run up\`) to use them` : `every TLS file exists in ${result.dir} (kept as they are; \`pnpm secrets:tls:renew\` renews the node and client certificates)`,
  ].join('\n')
}
