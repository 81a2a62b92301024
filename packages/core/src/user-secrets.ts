import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from './atomic-write.ts'
import { USER_NAMES, trimSecret, userSecretFile, type UserName } from './users.ts'

/** The uid and gid of the `redis` user in the Redis images: compose bind-mounts file secrets, so their group must be this one to read them. */
export const CONTAINER_UID = 999

/** A new random password: 24 bytes base64url, no quotes or blanks (which readSecret refuses). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url')
}

export interface EnsureUserSecretsOptions {
  /** Compose: the files are 0640 with group 999 (the containers' redis user reads them); otherwise 0600. */
  forContainers?: boolean
  /** Passwords to write instead of random ones (tests, a throwaway cluster). */
  passwords?: Partial<Record<UserName, string>>
}

export interface EnsuredUserSecrets {
  readonly created: readonly UserName[]
  /** The older version's one-password secret that became admin's, when it did. */
  readonly migratedFrom?: string
}

/**
 * Creates each user's secret that is missing (random, 24 bytes base64url:
 * no quotes or blanks, which readSecret refuses), never touching one that
 * exists. An older checkout's one password (`redis_password.txt`) becomes
 * admin's, so the toolkit keeps the password it had. Raw fs errors are thrown.
 */
export async function ensureUserSecrets(secretsDir: string, { forContainers = false, passwords = {} }: EnsureUserSecretsOptions = {}): Promise<EnsuredUserSecrets> {
  const legacy = join(secretsDir, 'redis_password.txt')
  const migrate = !existsSync(userSecretFile(secretsDir, 'admin')) && existsSync(legacy) && passwords.admin === undefined
  await mkdir(dirname(userSecretFile(secretsDir, 'admin')), { recursive: true, mode: 0o700 })
  const created: UserName[] = []
  for (const user of USER_NAMES) {
    const file = userSecretFile(secretsDir, user)
    if (existsSync(file)) continue
    const password = passwords[user] ?? (user === 'admin' && migrate ? trimSecret(readFileSync(legacy, 'utf8')) : generatePassword())
    await writeFileAtomic(file, password, { mode: 0o600 })
    if (forContainers) {
      await chown(file, -1, CONTAINER_UID)
      await chmod(file, 0o640)
    }
    created.push(user)
  }
  return migrate ? { created, migratedFrom: legacy } : { created }
}
