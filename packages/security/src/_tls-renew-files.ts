import { existsSync } from 'node:fs'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { ConfigError, type Stack, type StackTls } from '@redis-cluster/core'
import { issueClientCertificate, issueNodeCertificate, onDisk, privateWorkDir, setTlsFileMode } from './_tls-issue.ts'
import { nodeSans } from './tls-certs.ts'
import { readCertificateFile } from './tls-expiry.ts'

export type RenewPart = 'node' | 'client'

/**
 * A renewal's new files wait in <tls>/.renew/ until each replaced its own,
 * and the directory stays until every node presents the new certificate:
 * its existence is the renewal's state (a re-run puts in place what is left
 * and reloads the nodes, issuing nothing). It appears whole (a rename of the
 * private directory the files were made in), so it never holds half a set.
 */
export const stagedDir = (tls: Pick<StackTls, 'dir'>) => join(tls.dir, '.renew')

/** The files a part renews, in the order they are put in place. */
const partFiles = (tls: StackTls, part: RenewPart) => (part === 'node' ? [tls.nodeKey, tls.nodeCert] : [tls.clientKey, tls.clientCert])

/** Where a file of the stack's TLS dir waits in `dir` (the staged or the private directory). */
export const waitingAt = (dir: string, file: string) => join(dir, basename(file))

/**
 * New certificates from the stack's CA, each with a new key, in a private
 * directory of the TLS dir (nothing a node or the toolkit reads has changed):
 * the node certificate with the SANs `secrets:tls` gives it, the client
 * certificate, keys in the mode `secrets:tls` gives them. Returns the directory.
 */
export async function issueRenewal(stack: Stack, tls: StackTls, parts: readonly RenewPart[], days: number): Promise<string> {
  const work = await privateWorkDir(tls.dir, '.renew-')
  try {
    const at = (file: string) => waitingAt(work, file)
    if (parts.includes('node')) await issueNodeCertificate(stack, tls, at(tls.nodeCert), at(tls.nodeKey), days, nodeSans(stack))
    if (parts.includes('client')) await issueClientCertificate(stack, tls, at(tls.clientCert), at(tls.clientKey), days)
    for (const file of parts.flatMap((part) => partFiles(tls, part))) await setTlsFileMode(at(file), stack.runtime === 'compose')
    return work
  } catch (error) {
    await rm(work, { recursive: true, force: true })
    throw error
  }
}

/** The commit point: the new files become the renewal's state (a re-run from here finishes it). */
export const stageRenewal = (work: string, tls: StackTls) => onDisk(() => rename(work, stagedDir(tls)))

/**
 * Puts each staged file in place (none when no renewal is staged). Local:
 * a rename (atomic; the mode was set when it was made). Compose: each file
 * is a file secret, a bind mount of the host file, and a container keeps
 * the inode it mounted, so a rename would leave the nodes (their
 * healthcheck, `pnpm cli`, a reload) reading the old certificate: the new
 * content is written into the existing file (its inode, mode and group
 * stay). Each staged file is removed once in place. Returns the files replaced.
 */
export async function installStaged(tls: StackTls, { inPlace }: { inPlace: boolean }): Promise<string[]> {
  const staged = stagedDir(tls)
  const replaced: string[] = []
  await onDisk(async () => {
    for (const file of (['node', 'client'] as const).flatMap((part) => partFiles(tls, part))) {
      const waiting = waitingAt(staged, file)
      if (!existsSync(waiting)) continue
      if (inPlace && existsSync(file)) {
        await writeFile(file, await readFile(waiting))
        await rm(waiting)
      } else await rename(waiting, file)
      replaced.push(file)
    }
  })
  return replaced
}

/** Every node presents the new certificate: the renewal is done. */
export const finishRenewal = (tls: StackTls) => onDisk(() => rm(stagedDir(tls), { recursive: true, force: true }))

/**
 * The CA that signs the renewal: its certificate and key must be there (78
 * naming the file: without its key nothing can be re-signed), and valid (a
 * new CA means new certificates for every client too: a restart).
 */
export function requireCa(tls: StackTls): void {
  for (const file of [tls.ca, tls.caKey]) {
    if (!existsSync(file)) {
      throw new ConfigError(`${file} is missing: the certificates are renewed from the CA, with its key`, `put the CA's ${basename(file)} back in ${tls.dir} (or, for a new CA: move ${tls.dir} away, run \`pnpm secrets:tls\`, then \`pnpm run down && pnpm run up\`)`)
    }
  }
  const validTo = new Date(readCertificateFile(tls.ca).validTo)
  if (validTo.getTime() <= Date.now()) {
    throw new ConfigError(`the CA ${tls.ca} expired on ${validTo.toISOString().slice(0, 10)}: nothing it signs is trusted`, `move ${tls.dir} away, run \`pnpm secrets:tls\` (a new CA), then \`pnpm run down && pnpm run up\``)
  }
}
