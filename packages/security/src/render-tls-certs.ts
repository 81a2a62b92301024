import { dirname } from 'node:path'
import { CONTAINER_UID, tlsFiles } from '@redis-cluster/core'
import type { TlsCertsResult } from './tls-certs.ts'
import { describeExpiry, readCertificateExpiry } from './tls-expiry.ts'

/** Which files it created (certificates with their end of validity) and kept, and what the node certificate covers. */
export function renderTlsCerts(result: TlsCertsResult): string {
  const keyMode = result.keyMode === '0640' ? `mode 0640, group ${CONTAINER_UID}` : 'mode 0600'
  const modeOf = (file: string) => (file === tlsFiles(dirname(result.dir)).caKey ? 'mode 0600' : keyMode)
  const line = (file: string) => (file.endsWith('.key') ? `created ${file} (private key, ${modeOf(file)})` : `created ${file} (${describeExpiry(readCertificateExpiry(file))})`)
  return [
    ...result.created.map(line),
    ...(result.sans.length > 0 ? [`the node certificate covers ${result.sans.join(', ')}`] : []),
    ...(result.kept.length > 0 ? [`kept ${result.kept.join(', ')} (existing files are never overwritten)`] : []),
    ...(result.external && result.created.some((f) => f.endsWith('node.crt'))
      ? ['on each node: copy ca.crt, node.crt and node.key there; redis.conf: port 0, tls-port <its port>, tls-cert-file, tls-key-file, tls-ca-cert-file, tls-cluster yes, tls-replication yes; restart it']
      : []),
    result.created.length === 0 ? `every TLS file exists in ${result.dir} (kept as they are; to renew certificates: \`pnpm secrets:tls:renew\`)` : nextStep(result),
  ].join('\n')
}

function nextStep(result: TlsCertsResult): string {
  if (result.external) return result.enabled ? 'RC_TLS=1 is set: RC_SEEDS must name the TLS ports' : 'then set RC_TLS=1 in .env (RC_SEEDS: the TLS ports)'
  const restart = 'nodes already running use them after `pnpm run down && pnpm run up`'
  return result.enabled ? `RC_TLS=1 is set: \`pnpm run up\` starts the nodes with them (${restart})` : `set RC_TLS=1 in .env to use them (${restart})`
}
