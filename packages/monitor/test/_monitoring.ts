// Helpers for the monitoring-stack tests: conf/ paths, PromQL metric names, and
// the real binaries (prometheus-redis-exporter, prometheus, promtool) run as children.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { REPO_ROOT } from '@redis-cluster/test-utils'

export const PROMETHEUS_DIR = join(REPO_ROOT, 'conf', 'prometheus')
export const GRAFANA_DIR = join(REPO_ROOT, 'conf', 'grafana')
export const START_EXPORTER = join(REPO_ROOT, 'compose', 'node', 'start-exporter.sh')

export const readYaml = (file: string): any => parse(readFileSync(file, 'utf8'))

/** The checked-in list of metric names the exporter emits (validated against a real scrape by exporter.e2e.test.ts). */
export function exporterMetricNames(): Set<string> {
  const text = readFileSync(join(import.meta.dirname, 'fixtures', 'redis-exporter-metrics.txt'), 'utf8')
  return new Set(text.split('\n').filter((l) => l && !l.startsWith('#')))
}

/** Every panel query of the dashboards in conf/grafana/dashboards. */
export const dashboardQueries = (): { panel: string; expr: string }[] =>
  readdirSync(join(GRAFANA_DIR, 'dashboards'))
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards', f), 'utf8')).panels)
    .flatMap((p: any) => (p.targets ?? []).map((t: any) => ({ panel: p.title as string, expr: t.expr as string })))

/** Metric names in a scrape (Prometheus text format). */
export const scrapedNames = (text: string): string[] => [...new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!))]

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan'])

/**
 * The metric names a PromQL expression selects: identifiers that are not
 * functions, aggregations, keywords, label names (in braces or in by/on
 * lists), strings, durations or Grafana variables.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
  // Numbers (1e3, 0.9) are consumed whole so their letters are never taken for names.
  const tokens = [...stripped.matchAll(/\d[\w.]*|([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)]
  const names = tokens.filter((m) => m[1] && !m[2] && !KEYWORDS.has(m[1].toLowerCase())).map((m) => m[1]!)
  return [...new Set(names)]
}

const INSTALL: Record<string, string> = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  'prometheus-redis-exporter': 'prometheus-redis-exporter',
}

/** Throws a one-line error saying how to install `name` when it is not on PATH. */
export function requireBinary(name: string): void {
  const probe = spawnSync(name, ['--version'], { timeout: 10_000 })
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(`${name} is not installed: apt-get install -y ${INSTALL[name] ?? name} (Debian 12 ships it), or put it on PATH`)
  }
}

export interface Child {
  readonly process: ChildProcess
  output(): string
  stop(): Promise<void>
}

/** Starts a long-running binary; stop() kills exactly this child and waits for it. */
export function startChild(command: string, args: readonly string[], env: Record<string, string> = {}): Child {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (d) => (output = (output + d).slice(-20_000)))
  child.stderr!.on('data', (d) => (output = (output + d).slice(-20_000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** Polls `probe` until it returns a value, or fails naming `what` (and the child's output) after `ms`. */
export async function poll<T>(what: string, probe: () => Promise<T | undefined>, ms: number, child?: Child): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (child && child.process.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`${what} did not happen within ${ms} ms${last ? ` (last error: ${last})` : ''}${child ? `\n${child.output().slice(-2000)}` : ''}`)
}

export async function getText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
  return response.text()
}

/** GET /api/v1/<path> of a Prometheus; its error message when it refuses (a bad query says why). */
export async function prometheusApi(base: string, path: string): Promise<any> {
  const response = await fetch(`${base}/api/v1/${path}`, { signal: AbortSignal.timeout(10_000) })
  const body = await response.json()
  if (body.status !== 'success') throw new Error(`${path}: ${body.error}`)
  return body.data
}
