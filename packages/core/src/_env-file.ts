import { readFileSync } from 'node:fs'
import { parse as parseDotenv } from 'dotenv'

export interface EnvFile {
  readonly values: Record<string, string>
  /** `file:line: ...` for every line neither we nor compose would read as intended. */
  readonly problems: readonly string[]
}

/** Reads a `.env` file; a missing file is empty, as for compose. */
export function readEnvFile(file: string): EnvFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? { values: {}, problems: [] } : { values: {}, problems: [`cannot read ${file} (${code})`] }
  }
  return { values: parseDotenv(text), problems: checkEnvLines(text, file) }
}

/**
 * dotenv and compose's parsers skip a line they cannot read (dotenv without a
 * word, python-dotenv with a warning), so a typo silently falls back to the
 * default. Every line must be blank, a `#` comment, or `NAME=value` (an
 * optional `export `; a quoted value may span lines), with a NAME compose can
 * interpolate.
 */
export function checkEnvLines(text: string, file: string): string[] {
  const problems: string[] = []
  let openQuote: string | undefined
  text.split(/\r?\n/).forEach((line, i) => {
    if (openQuote) {
      if (closes(line, openQuote)) openQuote = undefined
      return
    }
    const trimmed = line.trim()
    if (!trimmed || trimmed.startsWith('#')) return
    const where = `${file}:${i + 1}`
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(trimmed)
    if (!match) {
      problems.push(`${where}: '${shorten(trimmed)}' is not NAME=value`)
      return
    }
    const [, name, value] = match as unknown as [string, string, string]
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`${where}: '${shorten(name)}' is not a variable name (letters, digits and _, not starting with a digit)`)
    const quote = /^["'`]/.exec(value)?.[0]
    if (quote && !closes(value.slice(1), quote)) openQuote = quote
  })
  if (openQuote) problems.push(`${file}: a ${openQuote} quote is never closed`)
  return problems
}

function closes(text: string, quote: string): boolean {
  return new RegExp(`(^|[^\\\\])${quote}`).test(text)
}

const shorten = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}...` : text)
