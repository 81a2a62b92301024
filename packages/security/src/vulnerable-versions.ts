import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, describeFsError } from '@redis-cluster/core'

/** Versions from `introduced` up to, not including, `fixed` (OSV's shape). */
export interface AffectedRange {
  readonly introduced: string
  readonly fixed: string
}

export interface Vulnerability {
  readonly id: string
  readonly summary: string
  readonly affected: readonly AffectedRange[]
}

export interface VulnerableList {
  readonly file: string
  /** YYYY-MM-DD: advisories published after this day are not in the list. */
  readonly updated: string
  readonly entries: readonly Vulnerability[]
}

/** Shipped in the repo and read offline: the audit never asks the network. */
export const vulnerableListFile = (root: string) => join(root, 'conf', 'security', 'redis-vulnerable-versions.json')

const VERSION = /^\d+(\.\d+){0,2}$/

/** Reads and checks the list; any problem is a ConfigError naming the file (a broken list must not pass every node). */
export function loadVulnerableList(file: string): VulnerableList {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    if (error instanceof SyntaxError) throw new ConfigError(`${file} is not valid JSON (${error.message})`, 'restore it from git: git checkout -- conf/security')
    throw describeFsError(error, { otherwise: 'restore it: git checkout -- conf/security' })
  }
  const list = raw as { updated?: unknown; entries?: unknown }
  const problems: string[] = []
  if (typeof list.updated !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(list.updated)) problems.push('`updated` must be a YYYY-MM-DD date')
  if (!Array.isArray(list.entries)) problems.push('`entries` must be a list')
  for (const [i, entry] of (Array.isArray(list.entries) ? list.entries : []).entries()) {
    const e = entry as Partial<Vulnerability>
    const ranges = Array.isArray(e.affected) ? e.affected : []
    if (typeof e.id !== 'string' || typeof e.summary !== 'string' || ranges.length === 0) problems.push(`entries[${i}] needs id, summary and affected ranges`)
    for (const r of ranges) if (!VERSION.test(String(r?.introduced)) || !VERSION.test(String(r?.fixed))) problems.push(`entries[${i}] (${e.id}): ranges need introduced and fixed versions like 7.2.11`)
  }
  if (problems.length > 0) throw new ConfigError(`${file}: ${problems.join('; ')}`, 'fix the entry (see `about` in the file), or restore it: git checkout -- conf/security')
  return { file, updated: list.updated as string, entries: list.entries as Vulnerability[] }
}

/** Numeric comparison of dotted versions; missing parts count as 0 (7.0 = 7.0.0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

/** The list's entries that affect `version` (a node's redis_version). */
export function findVulnerabilities(version: string, list: Pick<VulnerableList, 'entries'>): Vulnerability[] {
  const inRange = (r: AffectedRange) => compareVersions(version, r.introduced) >= 0 && compareVersions(version, r.fixed) < 0
  return list.entries.filter((entry) => entry.affected.some(inRange))
}

/** The oldest version that fixes every entry of the list: what to upgrade to (undefined when none in the list does). */
export function upgradeTarget(version: string, list: Pick<VulnerableList, 'entries'>): string | undefined {
  const fixed = list.entries.flatMap((entry) => entry.affected.map((r) => r.fixed)).filter((f) => compareVersions(f, version) > 0)
  return [...new Set(fixed)].sort(compareVersions).find((candidate) => findVulnerabilities(candidate, list).length === 0)
}
