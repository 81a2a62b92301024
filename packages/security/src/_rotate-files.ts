import { existsSync } from 'node:fs'
import { chmod, chown, rename, rm, stat } from 'node:fs/promises'
import { CONTAINER_UID, ConfigError, generatePassword, pendingSecretFile, readSecret, secretFileOf, writeFileAtomic, type Stack, type UserName } from '@redis-cluster/core'

/** A user's rotation as its files say: the secret (current password) and, while one is pending, `<secret>.next` (the new one). */
export interface RotationFiles {
  readonly secretFile: string
  readonly pendingFile: string
  readonly current: string
  /** The pending rotation's new password, undefined when none is pending (or, for a rollback, when `.next` is unusable). */
  readonly next: string | undefined
  /** `.next` exists. */
  readonly pending: boolean
}

/** Reads the rotation's state. A `.next` that is not a usable password (loadStack skips it silently) is refused unless rolled back. */
export function readRotationFiles(stack: Stack & { users: NonNullable<Stack['users']> }, user: UserName, { rollback }: { rollback: boolean }): RotationFiles {
  const secretFile = secretFileOf(stack, user)
  const pendingFile = pendingSecretFile(stack.secretsDir, user)
  const [current, next] = stack.users[user]
  const files = { secretFile, pendingFile, current: current!, next, pending: next !== undefined || existsSync(pendingFile) }
  if (files.pending && next === undefined && !rollback) {
    const read = readSecret(pendingFile)
    const problem = 'problem' in read ? read.problem : `${pendingFile} could not be read`
    throw new ConfigError(`a pending rotation's new password is unusable: ${problem}`, `run \`pnpm secrets:rotate ${user} --rollback\`, then rotate again`)
  }
  return files
}

/**
 * Step 1: the new password, written to `.next` before any node hears of it,
 * so a crash at any later point leaves it known (the re-run finishes with
 * it). Same mode and group as the secret: compose bind-mounts the secret
 * for the containers' redis user (group 999), and the renamed file must
 * stay readable to them. Written 0600 first, widened only after the chown.
 */
export async function createPending(files: RotationFiles): Promise<string> {
  const { mode, gid } = await stat(files.secretFile)
  const password = generatePassword()
  await writeFileAtomic(files.pendingFile, password, { mode: 0o600 })
  if (gid === CONTAINER_UID) await chown(files.pendingFile, -1, CONTAINER_UID)
  await chmod(files.pendingFile, mode & 0o777)
  return password
}

/** The last step: the new password becomes the secret (a rename keeps the mode and group createPending gave it). */
export async function replaceSecret(files: RotationFiles): Promise<void> {
  await rename(files.pendingFile, files.secretFile)
}

/** Rollback's last step: the rotation is forgotten. */
export async function discardPending(files: RotationFiles): Promise<void> {
  await rm(files.pendingFile, { force: true })
}
