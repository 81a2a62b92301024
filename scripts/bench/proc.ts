import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat start times (getconf CLK_TCK; 100 on Linux). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** Seconds since boot, the clock /proc start times use (10 ms resolution). */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
}

/** When a process started, in seconds since boot; undefined if it is gone or not readable. */
export function processStartSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command (which may hold spaces) start at ") ": state is field 3, starttime field 22.
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
    return Number(fields[19]) / CLK_TCK
  } catch {
    return undefined
  }
}
