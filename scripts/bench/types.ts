/** One timed measurement; `parts` break it down (all in ms). */
export interface Sample {
  readonly ms: number
  readonly parts: Readonly<Record<string, number>>
}

/** Something measured once per round; rounds interleave every variant of a case so drift hits all of them alike. */
export interface Variant {
  readonly key: string
  readonly label: string
  /** A failure of an optional variant is recorded (and shown on its lines) instead of breaking the bench. */
  readonly optional?: boolean
  /** Untimed setup and teardown happen inside; only the returned sample counts. */
  measure(): Promise<Sample>
}

export interface Medians {
  /** Why an optional variant has no samples (its last error), if it failed. */
  failed(key: string): string | undefined
  /** Median ms of a variant's samples. */
  ms(key: string): number
  /** Median ms of one part of a variant's samples. */
  part(key: string, part: string): number
  /** Fastest and slowest ms of a variant's samples, or of one part of them. */
  range(key: string, part?: string): Range
  /** Lowest and highest per-round ratio a/b (rounds interleave the variants, so round i of each ran side by side). */
  ratioRange(a: string, b: string): Range
}

export interface Range {
  readonly min: number
  readonly max: number
}

/** One printed result line. A target makes it PASS/MISS; without one it is INFO. */
export interface Line {
  readonly name: string
  readonly value: number
  readonly unit: 's' | 'x'
  readonly detail: string
  readonly target?: { readonly max: number; readonly strict?: boolean }
  /** Min and max beside the median `value`, in its unit. */
  readonly range?: Range
}

/** One entry of the suite (up, later backup, reshard, report): ours against the standard tools, same run. */
export interface BenchCase {
  readonly name: string
  readonly summary: string
  /** Rounds when `--runs` is not given (default 5): a slow case runs fewer. */
  readonly defaultRuns?: number
  /** Needs a Docker engine: `--no-compose` skips it. */
  readonly docker?: boolean
  /** Allocates what the case needs (registering its cleanup) and returns its variants. */
  prepare(): Promise<{ variants: readonly Variant[]; lines(medians: Medians): Line[] }>
}
