import { renderTable } from '@redis-cluster/core'
import type { RenewResult } from './tls-renew.ts'
import { certificateExpiry, describeExpiry } from './tls-expiry.ts'

const until = (validTo: string) => describeExpiry(certificateExpiry('', new Date(validTo)))

/** What was issued and replaced, each node's certificate now (reloaded by this run or already presented), then the verdict. */
export function renderTlsRenew(result: RenewResult): string {
  const lines = [
    ...result.issued.map((c) => `issued ${c.file} (${until(c.validTo)})`),
    ...(result.replaced.length > 0 ? [`replaced ${result.replaced.join(', ')}${result.inPlace ? ' (written in place: the containers mount these files)' : ''}`] : []),
  ]
  if (result.nodes.length > 0) lines.push(renderTable([['NODE', 'CERTIFICATE', 'VALID'], ...result.nodes.map((n) => [n.node, n.reloaded ? 'reloaded' : 'already presented', until(n.validTo)])]))
  const reloaded = result.nodes.filter((n) => n.reloaded).length
  const verdict =
    result.nodes.length > 0
      ? `every node presents the renewed node certificate (${reloaded} reloaded without a restart)`
      : result.replaced.length > 0
        ? "the toolkit's client certificate is renewed"
        : 'nothing to renew'
  lines.push(`${verdict}${result.resumed ? '; an interrupted renewal finished (no new certificate issued: run again for one)' : ''}`)
  return [...lines, ...result.notes.map((n) => `note: ${n}`)].join('\n')
}
