import { ConfigError } from './errors.ts'

/**
 * Compose-file variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$` for a literal `$`.
 * Hand-written because no maintained npm package implements the compose rules,
 * and we must read the compose file exactly as docker compose will.
 */
const PATTERN = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g

export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(PATTERN, (_match, dollar, braced, op, arg, bare) => {
    if (dollar) return '$'
    const name: string = braced ?? bare
    const value = env[name]
    const unset = op?.startsWith(':') ? !value : value === undefined
    if (!unset || !op) return value ?? ''
    if (op.endsWith('-')) return interpolate(arg, env)
    throw new ConfigError(`required variable ${name} is not set${arg ? `: ${arg}` : ''}`, `set ${name} in .env`)
  })
}

/** Interpolates every string inside a parsed YAML value, keys left as they are. */
export function interpolateDeep<T>(value: T, env: Readonly<Record<string, string | undefined>>): T {
  if (typeof value === 'string') return interpolate(value, env) as T
  if (Array.isArray(value)) return value.map((item) => interpolateDeep(item, env)) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)])) as T
  }
  return value
}
