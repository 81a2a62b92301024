/** One sample of a metric: its labels (none for a plain gauge) and value. */
export interface PromSample {
  readonly labels?: Readonly<Record<string, string>>
  readonly value: number
}

export interface PromMetric {
  /** Full name, snake_case; a counter's ends in `_total`. */
  readonly name: string
  readonly type: 'gauge' | 'counter'
  readonly help: string
  readonly samples: readonly PromSample[]
}

/**
 * The Prometheus text exposition format (what `promtool check metrics` and
 * node_exporter's textfile collector read): HELP and TYPE once per metric,
 * then its samples. Metrics without samples are left out (a TYPE line with
 * no sample is legal but only noise).
 */
export function renderPromText(metrics: readonly PromMetric[]): string {
  return metrics
    .filter((m) => m.samples.length > 0)
    .map((m) => [`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...m.samples.map((s) => `${m.name}${labelText(s.labels)} ${valueText(s.value)}`)].join('\n') + '\n')
    .join('')
}

function labelText(labels: Readonly<Record<string, string>> | undefined): string {
  const pairs = Object.entries(labels ?? {})
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}` : ''
}

const escapeHelp = (help: string) => help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf'
  return Number.isInteger(value) ? `${value}` : value.toFixed(3)
}
