import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError, describeFsError } from '@redis-cluster/core'

/** How long before a certificate expires the audit starts to warn (issue 13: "warned 30 days ahead"). */
export const WARN_DAYS = 30
const DAY_MS = 86_400_000

export interface CertificateExpiry {
  /** Where it was read: a file, or the node that presented it in the handshake. */
  readonly source: string
  /** When it stops being valid (notAfter). */
  readonly validTo: Date
  /** Whole days left; negative once expired. */
  readonly daysLeft: number
  readonly expired: boolean
}

/** A certificate file's end of validity, read with node:crypto (no openssl process). */
export function readCertificateExpiry(file: string, now = Date.now()): CertificateExpiry {
  return certificateExpiry(file, new Date(readCertificateFile(file).validTo), now)
}

/** A certificate file as node:crypto parses it; 78 naming a file that cannot be read or is not PEM. */
export function readCertificateFile(file: string): X509Certificate {
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (error) {
    throw describeFsError(error, { otherwise: 'run `pnpm secrets:tls` (it creates missing certificates)' })
  }
  try {
    return new X509Certificate(pem)
  } catch {
    throw new ConfigError(`${file} is not a PEM certificate`, 'move it and its key away, then run `pnpm secrets:tls`')
  }
}

export function certificateExpiry(source: string, validTo: Date, now = Date.now()): CertificateExpiry {
  const left = validTo.getTime() - now
  return { source, validTo, daysLeft: Math.floor(left / DAY_MS), expired: left <= 0 }
}

/**
 * The audit's rule for certificates: an expired one FAILs, one that expires
 * within WARN_DAYS passes with a note. Each named by its source and expiry.
 */
export function judgeExpiry(certificates: readonly CertificateExpiry[]): { expired: string[]; soon: string[] } {
  const named = (c: CertificateExpiry) => `${c.source} ${describeExpiry(c)}`
  return {
    expired: certificates.filter((c) => c.expired).map(named),
    soon: certificates.filter((c) => !c.expired && c.daysLeft < WARN_DAYS).map(named),
  }
}

/** `until 2027-11-26 (364 days left)` / `expired on 2026-11-25`. */
export function describeExpiry({ validTo, daysLeft, expired }: CertificateExpiry): string {
  const date = validTo.toISOString().slice(0, 10)
  return expired ? `expired on ${date}` : `until ${date} (${daysLeft} day${daysLeft === 1 ? '' : 's'} left)`
}
