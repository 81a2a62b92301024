import { randomBytes } from 'node:crypto'
import { chmod, chown, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CONTAINER_UID, CheckFailedError, ConfigError, describeFsError, runShell, type Stack, type StackTls } from '@redis-cluster/core'

/** The CA files that sign: `secrets:tls` signs with a CA it may have just made, `secrets:tls:renew` with the stack's. */
export type Signer = Pick<StackTls, 'ca' | 'caKey'>

/**
 * The node certificate every node presents (SANs: tls-certs.ts' nodeSans or
 * externalSans). It is also the client certificate of the bus and
 * replication links (tls-cluster, tls-replication): both usages.
 */
export function issueNodeCertificate(stack: Pick<Stack, 'projectName'>, signer: Signer, cert: string, key: string, days: number, sans: readonly string[]): Promise<void> {
  return issue(signer, cert, key, `/CN=${stack.projectName} node`, days, [`subjectAltName=${sans.join(',')}`, 'extendedKeyUsage=serverAuth,clientAuth'])
}

/** The toolkit's own client certificate (what its clients and redis-cli present). */
export function issueClientCertificate(stack: Pick<Stack, 'projectName'>, signer: Signer, cert: string, key: string, days: number): Promise<void> {
  return issue(signer, cert, key, `/CN=${stack.projectName} toolkit`, days, ['extendedKeyUsage=clientAuth'])
}

/** A key and a certificate signed by the CA, with the extensions given (one per line of an extfile). Keys are written by openssl to a file, never in argv. */
async function issue(signer: Signer, cert: string, key: string, subject: string, days: number, extensions: readonly string[]): Promise<void> {
  const csr = `${cert}.csr`
  const ext = `${cert}.ext`
  await onDisk(() => writeFile(ext, `${extensions.join('\n')}\nkeyUsage=critical,digitalSignature,keyEncipherment\n`))
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key])
  await openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr])
  // A random serial: two certificates from one CA must never share one.
  await openssl(['x509', '-req', '-in', csr, '-CA', signer.ca, '-CAkey', signer.caKey, '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', String(days), '-extfile', ext, '-out', cert])
}

/** A new file's mode: keys 0600, or 0640 group 999 when compose's containers read them (`shared`: what core's looseSecret accepts there); certificates 0644. */
export async function setTlsFileMode(file: string, shared: boolean): Promise<void> {
  const key = file.endsWith('.key')
  await onDisk(async () => {
    if (key && shared) await chown(file, -1, CONTAINER_UID)
    await chmod(file, key ? (shared ? 0o640 : 0o600) : 0o644)
  })
}

export async function openssl(args: readonly string[]): Promise<void> {
  const out = await (await runShell({ quiet: true, nothrow: true }))`openssl ${args}`
  if (out.exitCode === 0) return
  if (out.exitCode === 127 || /not found|ENOENT/.test(out.stderr)) throw new ConfigError('openssl is not installed (not found in PATH)', 'apt-get install -y openssl')
  throw new CheckFailedError(`openssl ${args[0]} failed (exit ${out.exitCode}): ${out.stderr.trim().split('\n').at(-1) ?? ''}`)
}

/** A new private directory (0700) in the TLS dir, where keys are made before they move in place (a rename within one filesystem). */
export function privateWorkDir(dir: string, prefix: string): Promise<string> {
  return onDisk(async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    return mkdtemp(join(dir, prefix))
  })
}

/** A filesystem step in the secrets dir: its error names the path and the fix. */
export async function onDisk<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw describeFsError(error, { otherwise: 'point RC_SECRETS_DIR at another directory' })
  }
}
