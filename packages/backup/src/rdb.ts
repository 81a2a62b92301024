import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { statfs } from 'node:fs/promises'
import { dirname } from 'node:path'
import { CheckFailedError, ConfigError, describeFsError, runRedisCli, runShell, type Stack } from '@redis-cluster/core'

export interface RdbCheck {
  /** redis-check-rdb read the whole file and its checksum matched. */
  readonly ok: boolean
  /** Why not, in redis-check-rdb's words (`Unexpected EOF reading RDB file`, `RDB CRC error`). */
  readonly problem: string | undefined
  readonly keys: number
  /** AUX fields: the replication offset and id the snapshot is at, and the Redis that wrote it. */
  readonly replOffset: number
  readonly replId: string
  readonly redisVersion: string
}

/**
 * Pulls a node's dataset into `file` over the replication protocol
 * (`redis-cli --rdb`: the node serves a full sync to us, rdb-only, so it
 * keeps no backlog for us afterwards). Why this and not BGSAVE + copying
 * dump.rdb out: it needs only a Redis connection (compose, local and nodes on
 * other hosts alike, no access to the node's files), the node streams the RDB
 * from a fork without writing its own dump.rdb, and with
 * `repl-diskless-sync-delay 0` (conf/redis.conf) the sync starts at once.
 * A node down mid-pull, or a full or unwritable destination, is a typed error.
 */
export async function pullRdb(stack: Stack, address: { host: string; port: number }, file: string): Promise<void> {
  try {
    await runRedisCli(stack, ['-h', address.host, '-p', String(address.port), '--rdb', file])
  } catch (error) {
    const message = (error as Error).message
    // redis-cli names no errno for a write that came up short: the filesystem says whether it is full.
    if (/No space left/i.test(message) || (/Error writing data to file/i.test(message) && (await freeBytes(dirname(file))) < 1024 * 1024)) {
      throw describeFsError({ code: 'ENOSPC', path: file, syscall: 'write' })
    }
    if (/Error opening/i.test(message)) throw describeFsError({ code: /denied/i.test(message) ? 'EACCES' : 'EPERM', path: file, syscall: 'write' })
    throw error
  }
}

async function freeBytes(dir: string): Promise<number> {
  const { bavail, bsize } = await statfs(dir).catch(() => ({ bavail: Infinity, bsize: 1 }))
  return bavail * bsize
}

/**
 * Checks an RDB with redis-check-rdb. Its exit code alone is not enough: on
 * Redis 7.0 a byte-flipped file reads to the end and exits 0 with
 * `RDB CRC error`; only the `RDB looks OK` line means the file is whole.
 */
export async function checkRdb(file: string): Promise<RdbCheck> {
  const out = await (await runShell({ quiet: true, nothrow: true }))`redis-check-rdb ${file}`
  if (out.exitCode === 127 || /ENOENT/.test(out.stderr)) throw new ConfigError('redis-check-rdb is not installed', 'install redis-tools (Debian: apt-get install redis-tools)')
  const text = `${out.stdout}\n${out.stderr}`
  const aux = (name: string) => new RegExp(`AUX FIELD ${name} = '([^']*)'`).exec(text)?.[1] ?? ''
  const ok = out.exitCode === 0 && /RDB looks OK/.test(text)
  const error = /--- RDB ERROR DETECTED ---\n\[offset \d+\] (.*)/.exec(text)?.[1] ?? /\[offset \d+\] (RDB CRC error.*)/.exec(text)?.[1]
  return {
    ok,
    problem: ok ? undefined : (error ?? (text.trim().split('\n').at(-1) || `redis-check-rdb exited ${out.exitCode}`)),
    keys: Number(/\[info\] (\d+) keys read/.exec(text)?.[1] ?? 0),
    replOffset: Number(aux('repl-offset') || 0),
    replId: aux('repl-id'),
    redisVersion: aux('redis-ver'),
  }
}

/** sha256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** A check that failed, as the error naming the file and the problem. */
export function rdbProblem(file: string, check: RdbCheck): CheckFailedError {
  return new CheckFailedError(`${file}: not a valid RDB: ${check.problem}`, 'take a new backup (`pnpm backup`); this file cannot be restored')
}
