import { statSync } from 'node:fs'
import { dirname } from 'node:path'
import { ConfigError, TemporaryError } from './errors.ts'

export interface DescribeFsErrorOptions {
  /** The setting that chose the path, offered as the other way out: "point RC_DATA_DIR at another directory". */
  otherwise?: string
}

const VERBS: Record<string, string> = { mkdir: 'create', rm: 'delete', rmdir: 'delete', unlink: 'delete', rename: 'rename', write: 'write' }

/**
 * The one mapping from a Node fs error to what the user can act on: a path
 * we may not write or that is not what it should be is configuration (78),
 * a full disk may pass once space is freed (75). Anything else is returned
 * unchanged, so a real bug still surfaces as one.
 */
export function describeFsError(error: unknown, { otherwise }: DescribeFsErrorOptions = {}): unknown {
  const { code, path = '', syscall = '' } = (error ?? {}) as NodeJS.ErrnoException
  const cannot = `cannot ${VERBS[syscall] ?? syscall} ${path}`
  const or = otherwise ? `, or ${otherwise}` : ''
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new ConfigError(
        `${cannot}: permission denied (${code})`,
        // root bypasses mode bits but not the immutable flag: show both
        `let this user write to ${dirname(path)} (ls -ld, chown/chmod; as root also \`lsattr -d\`, \`chattr -i\`)${or}`,
      )
    case 'EROFS':
      return new ConfigError(`${cannot}: the filesystem is read-only`, `remount it read-write${or}`)
    case 'ENOTDIR': {
      const file = firstNonDirectory(path)
      return new ConfigError(`${cannot}: ${file} is a file, not a directory`, `move ${file} away${or}`)
    }
    case 'EEXIST':
      return new ConfigError(`${cannot}: it already exists and is not a directory`, `move ${path} away${or}`)
    case 'EISDIR':
      return new ConfigError(`${cannot}: it is a directory where a file belongs`, `remove the directory ${path}${or}`)
    case 'ENOENT':
      // writing into a missing directory, or reading a missing file
      return exists(dirname(path))
        ? new ConfigError(`${cannot}: no such file`, `check the path${or}`)
        : new ConfigError(`${cannot}: the directory ${dirname(path)} does not exist`, `create it (mkdir -p ${dirname(path)})${or}`)
    case 'ENOSPC':
      return new TemporaryError(`${cannot}: no space left on the device`, `free space there (df -h ${dirname(path)})${or}`)
    case 'EDQUOT':
      return new TemporaryError(`${cannot}: disk quota exceeded`, `free space or raise the quota${or}`)
    default:
      return error
  }
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}

/** The ancestor of `path` that exists but is not a directory (what ENOTDIR is about); `path` if none is found. */
function firstNonDirectory(path: string): string {
  for (let dir = path; dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      if (!statSync(dirname(dir)).isDirectory()) continue
      return statSync(dir).isDirectory() ? path : dir
    } catch {
      // dirname(dir) itself is missing or not a directory: look further up
    }
  }
  return path
}
