import { existsSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { ConfigError, UsageError, tlsFiles, type Stack } from '@redis-cluster/core'
import { issueClientCertificate, issueNodeCertificate, onDisk, openssl, privateWorkDir, setTlsFileMode } from './_tls-issue.ts'

/** The local CA outlives many node certificates: renewing those needs no change on any client that trusts the CA. */
export const CA_DAYS = 3650
export const DEFAULT_CERT_DAYS = 365

export interface TlsCertsResult {
  readonly dir: string
  readonly created: readonly string[]
  readonly kept: readonly string[]
  /** What the node certificate covers (when it was created now). */
  readonly sans: readonly string[]
  readonly days: number
  /** The node and client keys' mode: 0640 group 999 for compose's containers, 0600 elsewhere (ca.key: 0600 always). */
  readonly keyMode: '0600' | '0640'
  /** External runtime: the node certificate is for the operator to install on the nodes. */
  readonly external: boolean
  /** RC_TLS=1 is set already: the next start uses the files. */
  readonly enabled: boolean
}

/** `--days N`: the node and client certificates' validity (1..3650). */
export function parseDays(value: string | undefined): number {
  if (value === undefined) return DEFAULT_CERT_DAYS
  const days = Number(value)
  if (!/^\d+$/.test(value) || days < 1 || days > CA_DAYS) throw new UsageError(`--days '${value}' is not a number of days from 1 to ${CA_DAYS}`, 'e.g. --days 365')
  return days
}

/**
 * Every address a node is dialled at: loopback (the local runtime, and
 * compose's published ports), each node's host and compose network address,
 * and names. One certificate for all nodes: they share one CA anyway, and a
 * node added later on these hosts needs no new certificate.
 */
export function nodeSans(stack: Pick<Stack, 'nodes'>): string[] {
  return sans(['127.0.0.1', ...stack.nodes.flatMap((n) => [n.host, n.clusterIp ?? ''])], ['localhost', ...stack.nodes.map((n) => n.name)])
}

/**
 * External runtime: the nodes' hosts are known only by the operator: RC_SEEDS'
 * hosts and `--host` (comma-separated, addresses or names). Every node
 * announces one of them and is dialled there, by the toolkit and its peers.
 */
export function externalSans(stack: Pick<Stack, 'seeds'>, hosts: readonly string[]): string[] {
  const all = [...stack.seeds.map((s) => s.host), ...hosts]
  return sans(all.filter(isIp), all.filter((h) => !isIp(h)))
}

/** `--host a,b`: each an IPv4 address or a DNS name. */
export function parseHosts(value: string | undefined): string[] {
  const hosts = (value ?? '').split(',').map((h) => h.trim()).filter(Boolean)
  const bad = hosts.find((h) => !isIp(h) && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(h))
  if (bad !== undefined) throw new UsageError(`--host '${bad}' is not an IPv4 address or a host name`, 'e.g. --host 10.0.0.5,10.0.0.6,redis-a.internal')
  return hosts
}

const isIp = (host: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host)

const sans = (ips: readonly string[], names: readonly string[]) => [...new Set(ips.filter(isIp))].map((ip) => `IP:${ip}`).concat([...new Set(names.filter(Boolean))].map((name) => `DNS:${name}`))

/**
 * Creates what is missing of the local CA, the node certificate and the
 * toolkit's client certificate in <secretsDir>/tls/ with openssl (external:
 * for the operator to install on the nodes, see externalSans); never
 * overwrites a file. Keys are generated into files (never in argv) in a
 * private directory, given their mode, then moved in place. A certificate
 * whose CA is gone cannot be re-signed: that is refused.
 */
export async function generateTlsCertificates(stack: Stack, { days = DEFAULT_CERT_DAYS, hosts = [] }: { days?: number; hosts?: readonly string[] } = {}): Promise<TlsCertsResult> {
  const external = stack.runtime === 'external'
  if (!external && hosts.length > 0) throw new UsageError('--host is for RC_RUNTIME=external: the certificate of a stack the toolkit starts names its nodes\' addresses itself', 'drop --host')
  const files = stack.tls ?? tlsFiles(stack.secretsDir, { remote: external })
  const forContainers = stack.runtime === 'compose'
  const pairs = { ca: [files.ca, files.caKey], node: [files.nodeCert, files.nodeKey], client: [files.clientCert, files.clientKey] } as const
  const has = (pair: readonly string[]) => pair.filter((f) => existsSync(f)).length
  for (const pair of Object.values(pairs)) {
    if (has(pair) === 1) throw new ConfigError(`${pair.find((f) => existsSync(f))} exists without ${pair.find((f) => !existsSync(f))}`, `move it away (a certificate needs its key), then run \`pnpm secrets:tls\` again`)
  }
  const missing = (Object.keys(pairs) as (keyof typeof pairs)[]).filter((name) => has(pairs[name]) === 0)
  if (missing.includes('ca') && missing.length < 3) {
    throw new ConfigError(`${files.ca} is missing, but certificates it signed are in ${files.dir}`, `move ${files.dir} away to start with a new CA (then restart the nodes), or put the CA and its key back`)
  }
  const sans = external ? externalSans(stack, hosts) : nodeSans(stack)
  const work = await privateWorkDir(files.dir, '.new-')
  try {
    const at = (file: string) => join(work, basename(file))
    const signer = { ca: missing.includes('ca') ? at(files.ca) : files.ca, caKey: missing.includes('ca') ? at(files.caKey) : files.caKey }
    if (missing.includes('ca')) {
      await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', signer.caKey])
      await openssl(['req', '-x509', '-new', '-key', signer.caKey, '-subj', `/CN=${stack.projectName} local CA`, '-days', String(CA_DAYS), '-out', signer.ca,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    }
    if (missing.includes('node')) await issueNodeCertificate(stack, signer, at(files.nodeCert), at(files.nodeKey), days, sans)
    if (missing.includes('client')) await issueClientCertificate(stack, signer, at(files.clientCert), at(files.clientKey), days)
    const created = missing.flatMap((name) => pairs[name])
    // compose's containers read the node and client keys (group 999); nothing but this command reads the CA's
    for (const file of created) await setTlsFileMode(at(file), forContainers && file !== files.caKey)
    await onDisk(async () => {
      for (const file of created) if (!existsSync(file)) await rename(at(file), file)
    })
    return { dir: files.dir, created, kept: Object.values(pairs).flat().filter((f) => !created.includes(f)), sans: missing.includes('node') ? sans : [], days, keyMode: forContainers ? '0640' : '0600', external, enabled: Boolean(stack.tls) }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
