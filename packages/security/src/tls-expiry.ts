import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError, describeFsError } from '@redis-cluster/core'

/** How long before a certificate expires the audit starts to warn (issue 13: "warned 30 days ahead"). */
export const WARN_DAYS = 30
const DAY_MS = 86_400_000

export interface CertificateExpiry {
  readonly file: string
  /** When it stops being valid (notAfter). */
  readonly validTo: Date
  /** Whole days left; negative once expired. */
  readonly daysLeft: number
  readonly expired: boolean
}

/** A certificate file's end of validity, read with node:crypto (no openssl process). */
export function readCertificateExpiry(file: string, now = Date.now()): CertificateExpiry {
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (error) {
    throw describeFsError(error, { otherwise: 'run `pnpm secrets:tls` (it creates missing certificates)' })
  }
  let validTo: Date
  try {
    validTo = new Date(new X509Certificate(pem).validTo)
  } catch {
    throw new ConfigError(`${file} is not a PEM certificate`, 'move it and its key away, then run `pnpm secrets:tls`')
  }
  const left = validTo.getTime() - now
  return { file, validTo, daysLeft: Math.floor(left / DAY_MS), expired: left <= 0 }
}

/** `until 2027-11-26 (364 days left)` / `expired on 2026-11-25`. */
export function describeExpiry({ validTo, daysLeft, expired }: CertificateExpiry): string {
  const date = validTo.toISOString().slice(0, 10)
  return expired ? `expired on ${date}` : `until ${date} (${daysLeft} day${daysLeft === 1 ? '' : 's'} left)`
}
