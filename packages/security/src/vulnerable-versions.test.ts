import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '@redis-cluster/core'
import { REPO_ROOT } from '@redis-cluster/test-utils'
import { compareVersions, findVulnerabilities, loadVulnerableList, upgradeTarget, vulnerableListFile } from './vulnerable-versions.ts'

const shipped = loadVulnerableList(vulnerableListFile(REPO_ROOT))
const ids = (version: string) => findVulnerabilities(version, shipped).map((v) => v.id)

describe('compareVersions()', () => {
  it('compares numerically, part by part', () => {
    expect(compareVersions('7.2.11', '7.2.9')).toBe(1)
    expect(compareVersions('7.0', '7.0.0')).toBe(0)
    expect(compareVersions('6.2.20', '7.0.0')).toBe(-1)
    expect(compareVersions('10.0.0', '8.2.2')).toBe(1)
  })
})

describe('findVulnerabilities()', () => {
  it('marks a version inside a range, not the fixed version or a later line', () => {
    expect(ids('8.2.1')).toContain('CVE-2025-49844')
    expect(ids('8.2.2')).toEqual([])
    expect(ids('8.2.3')).toEqual([])
    expect(ids('8.4.0')).toEqual([])
    expect(ids('7.2.11')).toEqual([])
    expect(ids('6.2.20')).toEqual([])
  })

  it('marks a line that never got an upstream fix (7.0.x) as affected', () => {
    // the Debian redis-server of this stack reports 7.0.15 (its backported fixes keep that number)
    expect(ids('7.0.15')).toEqual(['CVE-2025-49844', 'CVE-2025-46817', 'CVE-2025-46818', 'CVE-2025-46819', 'CVE-2024-31449'])
    expect(ids('7.0.11')).toContain('CVE-2022-24834')
    expect(ids('7.0.12')).not.toContain('CVE-2022-24834')
  })

  it('names the oldest version that fixes every entry', () => {
    expect(upgradeTarget('7.0.15', shipped)).toBe('7.2.11')
    expect(upgradeTarget('8.0.1', shipped)).toBe('8.0.4')
    expect(upgradeTarget('6.2.7', shipped)).toBe('6.2.20')
  })
})

describe('loadVulnerableList()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rc-vuln-'))

  it('has a dated list in the repo', () => {
    expect(shipped.updated).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(shipped.entries.length).toBeGreaterThan(0)
  })

  it('refuses a broken list with a ConfigError naming the file', () => {
    const file = join(dir, 'list.json')
    writeFileSync(file, JSON.stringify({ updated: 'yesterday', entries: [{ id: 'CVE-1', summary: 's', affected: [{ introduced: '7', fixed: 'soon' }] }] }))
    expect(() => loadVulnerableList(file)).toThrow(ConfigError)
    expect(() => loadVulnerableList(file)).toThrow(/list\.json: `updated` must be a YYYY-MM-DD date; entries\[0\] \(CVE-1\)/)
    writeFileSync(file, '{')
    expect(() => loadVulnerableList(file)).toThrow(/list\.json is not valid JSON/)
    expect(() => loadVulnerableList(join(dir, 'missing.json'))).toThrow(ConfigError)
  })
})
