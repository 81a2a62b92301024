import { mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describeFsError, type StackNode } from '@redis-cluster/core'

// The files of a local node, and which process is the node.

export const logFile = (node: StackNode) => join(node.dataDir, 'redis.log')
export const confFile = (node: StackNode) => join(node.dataDir, 'node.conf')
/** Written by us at spawn. */
export const ownPidFile = (node: StackNode) => join(node.dataDir, 'node.pid')
/** Written by Redis, which skips it silently when it cannot; nodes started before ours existed have only this one. */
export const redisPidFile = (node: StackNode) => join(node.dataDir, 'redis.pid')

/** Every fs call of this runtime goes through here, so a bad RC_DATA_DIR is one line naming the path. */
export function onDisk<T>(call: () => T): T {
  try {
    return call()
  } catch (error) {
    throw describeFsError(error, { otherwise: 'point RC_DATA_DIR at another directory' })
  }
}

/** The pid of this node's redis-server if it runs: our pid file first, then Redis's. */
export function runningPid(node: StackNode): number | undefined {
  for (const file of [ownPidFile(node), redisPidFile(node)]) {
    let pid: number
    try {
      pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
    } catch {
      continue
    }
    if (isNodeProcess(pid, node)) return pid
  }
  return undefined
}

/**
 * Ours if it is a redis-server (the command line guards against a reused
 * pid) working in this node's dir. Not by port: the ports may have changed
 * in .env since it started, and `down` must still stop it. Two nodes never
 * share a dir: Redis locks its nodes.conf.
 */
function isNodeProcess(pid: number, node: StackNode): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('redis-server') && readlinkSync(`/proc/${pid}/cwd`) === realpathSync(node.dataDir)
  } catch {
    return false
  }
}

/**
 * A node whose dir cannot be written still starts and answers PING: Redis
 * skips its pidfile silently and fails only at the next save. So we try it:
 * create and delete a file. access(W_OK) is not enough, root passes it on a
 * `chattr +i` dir. Refused before anything starts: no node is reported
 * started that cannot persist.
 */
export function assertCanWrite(node: StackNode): void {
  const probe = join(node.dataDir, `.write-probe-${process.pid}`) // own name: two runs may probe at once
  onDisk(() => {
    mkdirSync(node.dataDir, { recursive: true, mode: 0o700 })
    writeFileSync(probe, 'can this node persist?\n') // a few bytes: a full disk may still create an empty file
    rmSync(probe)
  })
}
