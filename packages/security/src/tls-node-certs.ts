import { connect, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from 'node:tls'
import { CONNECT_TIMEOUT_MS, currentRun, tlsOptions, type Stack, type StackNode } from '@redis-cluster/core'
import { certificateExpiry, type CertificateExpiry } from './tls-expiry.ts'

/** What a node's TLS handshake showed: the soonest expiry of the certificates it presents, or why they could not be read. */
export type NodeCertificate = { readonly node: string; readonly expiry: CertificateExpiry } | { readonly node: string; readonly problem: string }

/**
 * Each node's certificates as it presents them in the TLS handshake: on the
 * external runtime they live on the nodes' hosts, so this is the only place
 * the toolkit sees them. Dialled with the toolkit's own TLS options, but not
 * rejected on a failed verification: an expired certificate must still be
 * read to be reported as expired; any other verification failure is a
 * problem of its own. Nothing is sent: the socket closes after the handshake.
 */
export function readNodeCertificates(stack: Pick<Stack, 'tls' | 'nodes'>): Promise<NodeCertificate[]> {
  return Promise.all(stack.nodes.map((node) => readNodeCertificate(stack, node)))
}

function readNodeCertificate(stack: Pick<Stack, 'tls'>, node: StackNode): Promise<NodeCertificate> {
  return handshake(node, { ...tlsOptions(stack), rejectUnauthorized: false }, (socket) => {
    const untrusted = socket.authorized || socket.authorizationError?.toString() === 'CERT_HAS_EXPIRED' ? undefined : socket.authorizationError
    if (untrusted) return { node: node.name, problem: `${node.name}: its certificate does not verify against the CA (${untrusted})` }
    const validTo = chainOf(socket.getPeerCertificate(true)).map((c) => new Date(c.valid_to))
    if (validTo.length === 0) return { node: node.name, problem: `${node.name}: presented no certificate` }
    return { node: node.name, expiry: certificateExpiry(node.name, new Date(Math.min(...validTo.map(Number)))) }
  })
}

/** The certificate a node presents in a new handshake: which one (SHA-256 fingerprint, as X509Certificate's fingerprint256) and until when. */
export type PresentedCertificate = { readonly node: string; readonly fingerprint: string; readonly validTo: Date } | { readonly node: string; readonly problem: string }

/**
 * Which certificate a node presents right now (secrets:tls:renew: has it
 * loaded the new one?). Nothing is verified here (the fingerprint is
 * compared with a file the caller trusts) and nothing is sent, so no client
 * certificate is presented: the nodes this toolkit starts do not require one.
 */
export function readPresentedCertificate(node: StackNode): Promise<PresentedCertificate> {
  return handshake(node, { rejectUnauthorized: false }, (socket) => {
    const peer = socket.getPeerX509Certificate()
    return peer ? { node: node.name, fingerprint: peer.fingerprint256, validTo: new Date(peer.validTo) } : { node: node.name, problem: `${node.name}: presented no certificate` }
  })
}

/** One TLS handshake with a node, within the connect deadline (and the run's); `read` judges the secured socket, which is then closed. */
function handshake<T>(node: StackNode, options: ConnectionOptions, read: (socket: TLSSocket) => T | { node: string; problem: string }): Promise<T | { node: string; problem: string }> {
  const timeoutMs = Math.max(1, Math.min(CONNECT_TIMEOUT_MS, (currentRun()?.deadline ?? Infinity) - Date.now()))
  return new Promise((resolve) => {
    const socket = connect({ host: node.host, port: node.port, ...options })
    const done = (result: T | { node: string; problem: string }) => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(timeoutMs, () => done({ node: node.name, problem: `${node.name}: did not finish the TLS handshake within ${timeoutMs} ms, its certificate is unknown` }))
    socket.on('error', (error: NodeJS.ErrnoException) => done({ node: node.name, problem: `${node.name}: cannot be reached to read its certificate (${error.code ?? error.message})` }))
    socket.on('secureConnect', () => done(read(socket)))
  })
}

/** The presented certificate and its issuers up to the root (which names itself as issuer). */
function chainOf(peer: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = []
  let c: DetailedPeerCertificate | undefined = peer
  while (c?.valid_to && !chain.some((seen) => seen.fingerprint256 === c!.fingerprint256)) {
    chain.push(c)
    c = c.issuerCertificate
  }
  return chain
}
