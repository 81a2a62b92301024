import { readFileSync } from 'node:fs'

/** A process's state letter (R, S, D, T stopped, Z zombie...) and parent, from /proc/PID/stat; undefined without /proc or once it is gone. */
export function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: read after its last ')'.
    const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state, ppid: Number(ppid) }
  } catch {
    return undefined
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
  return procStat(pid)?.state !== 'Z' // no /proc: trust kill(0)
}

/** True while the process is stopped by a signal (SIGSTOP, Ctrl-Z): it cannot act on any other signal until resumed. */
export function isPaused(pid: number): boolean {
  return procStat(pid)?.state === 'T'
}
