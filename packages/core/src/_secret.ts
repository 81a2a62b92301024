import { readFileSync } from 'node:fs'

export type SecretResult =
  | { password: string; notice?: string }
  | { problem: string; hint: string }

/**
 * Reads the password secret. Trailing whitespace (a final newline, or CRLF from
 * a file edited on Windows) is trimmed, and said so, because Redis would
 * otherwise take it as part of the password.
 */
export function readSecret(file: string): SecretResult {
  let raw: string
  try {
    raw = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT'
      ? { problem: `password secret ${file} is missing`, hint: 'run `pnpm run setup` to create it (or copy secrets.example/)' }
      : { problem: `cannot read password secret ${file} (${code})`, hint: `check the file's permissions` }
  }
  const password = raw.replace(/[\r\n\t ]+$/, '')
  if (!password) return { problem: `password secret ${file} is empty`, hint: 'put a password in it, or delete it and run `pnpm run setup`' }
  if (/[\s"']/.test(password)) {
    return { problem: `password secret ${file} contains whitespace or quotes`, hint: 'use a password of letters, digits and punctuation only' }
  }
  const trimmed = raw.slice(password.length)
  const notice = trimmed ? `trimmed ${trimmed.includes('\r') ? 'a CRLF line ending' : 'trailing whitespace'} from ${file}` : undefined
  return notice ? { password, notice } : { password }
}
