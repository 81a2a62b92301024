import { createServer } from 'node:net'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/** True when nothing listens on host:port (we can bind it ourselves). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

export interface Listener {
  /** Local address: `127.0.0.1`, `0.0.0.0`, or a hex IPv6 address in brackets. */
  readonly address: string
  readonly inode: string
}

/** TCP sockets listening on a port in this network namespace, from /proc/net (Linux). */
export function listListeners(port: number): Listener[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const found: Listener[] = []
  for (const [table, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const [addr = '', p] = (fields[1] ?? '').split(':')
      if (p !== hexPort || fields[3] !== '0A') continue
      const address = v6 ? `[${addr}]` : addr.match(/../g)!.reverse().map((b) => Number.parseInt(b, 16)).join('.')
      found.push({ address, inode: fields[9] ?? '' })
    }
  }
  return found
}

/**
 * Names the process listening on a TCP port. Best effort: `ss`/`lsof` are
 * often not installed, and another user's process may not be visible; then
 * we return undefined and the error names only the port.
 */
export function findPortOwner(port: number): string | undefined {
  const inodes = new Set(listListeners(port).map((l) => l.inode))
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[] = []
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (match && inodes.has(match[1]!)) return `pid ${pid} (${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()})`
      } catch {
        // the process or fd went away while we looked
      }
    }
  }
  return undefined
}
