import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { BusyError } from './errors.ts'

export interface Lock {
  readonly file: string
  release(): void
}

/**
 * Takes an exclusive run lock (`O_EXCL` file holding our pid). A second
 * concurrent run fails at once with BusyError (exit 75); a lock left behind by
 * a process that no longer exists is taken over.
 */
export function takeLock(dir: string, name: string): Lock {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.lock`)
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600)
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return { file, release: () => rmSync(file, { force: true }) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10)
      if (isAlive(holder)) throw new BusyError(`another ${name} run (pid ${holder}) holds ${file}`, 'wait for it to finish; this run changed nothing')
      rmSync(file, { force: true })
    }
  }
}

/** True while the process exists and is not a zombie (an exited child its parent has not reaped yet). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true // no /proc: trust kill(0)
  }
}
