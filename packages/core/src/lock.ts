import { createHash } from 'node:crypto'
import { connect, createServer, type Server } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { BusyError, ConfigError } from './errors.ts'

/** Who holds a stack lock, as the holder itself tells a second run. */
export interface LockHolder {
  readonly pid: number
  readonly command: string
  readonly startedAt: string
}

export interface StackLock {
  release(): void
}

export interface TakeStackLockOptions {
  /** The command taking it, shown to a second run: "up", "down". */
  command: string
  /** Ask the holder to stop (its `onPreempted` runs) and wait for the lock, instead of failing at once. */
  preempt?: boolean
  /** Called in the holder when another run preempts it (`down` while `up` waits). */
  onPreempted?: (by: LockHolder) => void
  /** How long a preempting run waits for the holder to let go. */
  preemptTimeoutMs?: number
}

/** How long a run keeps trying when the lock's holder does not answer (busy, or just exiting). */
const UNANSWERED_RETRY_MS = 3000

/**
 * The one lock of a stack, taken by every command that changes it. It is a
 * listening socket in Linux's abstract namespace, not a file: the kernel
 * grants one bind at a time and frees it when the holder exits, even on
 * kill -9. So a dead holder never blocks anyone, and there is no window in
 * which two runs both "take over" a stale lock file (the race every pid-file
 * lock has). The holder answers each connection with who it is, and stops
 * its run when a preempting `down` asks it to.
 */
export async function takeStackLock(key: string, options: TakeStackLockOptions): Promise<StackLock> {
  if (process.platform !== 'linux') throw new ConfigError('the stack lock needs Linux (abstract unix sockets)', 'run the toolkit on the Linux host of the stack')
  const address = lockAddress(key)
  const me: LockHolder = { pid: process.pid, command: options.command, startedAt: new Date().toISOString() }
  const deadline = Date.now() + (options.preempt ? (options.preemptTimeoutMs ?? 15_000) : 0)
  let asked = false
  for (;;) {
    const server = await listen(address, me, options.onPreempted)
    if (server) return { release: () => void server.close() }
    const holder = await askHolder(address, options.preempt && !asked ? me : undefined)
    asked ||= Boolean(options.preempt && holder)
    // A holder that did not answer either just exited (the next bind wins) or
    // is busy on a loaded machine: retry for a while before saying we could not tell who.
    if (Date.now() >= deadline && (holder || Date.now() >= deadline + UNANSWERED_RETRY_MS)) {
      const who = holder ? `${holder.command} (pid ${holder.pid}, running since ${holder.startedAt})` : 'another run (it did not say who)'
      throw new BusyError(`the stack is locked by ${who}`, options.preempt ? `it did not stop in time: wait, or stop it with \`kill ${holder?.pid ?? 'PID'}\`` : 'wait for it to finish and retry; this run changed nothing')
    }
    await sleep(50)
  }
}

/** One abstract socket name per stack; the key names the stack (its data dir and project). */
function lockAddress(key: string): string {
  return `\0redis-cluster-toolkit/lock/${createHash('sha256').update(key).digest('hex').slice(0, 32)}`
}

function listen(address: string, me: LockHolder, onPreempted?: (by: LockHolder) => void): Promise<Server | undefined> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.end(`${JSON.stringify(me)}\n`)
    socket.on('data', (data) => {
      const by = parseHolder(data.toString())
      if (by) onPreempted?.(by)
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error)))
    server.listen({ path: address }, () => {
      server.unref()
      resolve(server)
    })
  })
}

/** Reads who holds the lock (and asks it to stop, when `preemptAs` is given); undefined if it does not answer within 2 s. */
function askHolder(address: string, preemptAs?: LockHolder): Promise<LockHolder | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ path: address })
    let text = ''
    const done = (holder?: LockHolder) => {
      socket.destroy()
      resolve(holder)
    }
    socket.setTimeout(2000, () => done())
    socket.on('error', () => done())
    socket.on('connect', () => preemptAs && socket.write(`${JSON.stringify(preemptAs)}\n`))
    socket.on('data', (data) => (text += data.toString()))
    socket.on('end', () => done(parseHolder(text)))
  })
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text.trim().split('\n')[0] ?? '') as Partial<LockHolder>
    return typeof value.pid === 'number' && typeof value.command === 'string' ? (value as LockHolder) : undefined
  } catch {
    return undefined
  }
}
