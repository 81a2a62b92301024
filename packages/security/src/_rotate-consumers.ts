import { runCompose } from '@redis-cluster/compose'
import type { Stack, UserName } from '@redis-cluster/core'

/**
 * Whether this user's consumer reads the secret FILE only when it starts:
 * the compose exporter (start-exporter.sh writes its password map from the
 * mounted secret). The file must then hold the new password before the
 * consumer restarts, so for it the secret is replaced before the old
 * password is removed (rotate.ts); everyone else gets the order that keeps
 * `.next` until the end.
 */
export function readsSecretAtStart(stack: Pick<Stack, 'runtime'>, user: UserName): boolean {
  return user === 'exporter' && stack.runtime === 'compose'
}

/**
 * What moves a consumer that holds the password (or, for secrets:tls:renew,
 * the client certificate) itself: the exporter
 * container restarts (a compose restart mounts the secret anew; a stack
 * without the monitoring profile has no exporter and nothing restarts).
 * Replication, which the nodes hold, is moved with applyAcl in rotate.ts.
 */
export async function restartExporter(stack: Stack, what = 'the new password'): Promise<string> {
  const running = (await runCompose(stack, ['--profile', 'monitoring', 'ps', '-q', 'redis-exporter'])).stdout.trim()
  if (!running) return 'no exporter running (profile monitoring): nothing to restart'
  await runCompose(stack, ['--profile', 'monitoring', 'restart', 'redis-exporter'])
  return `exporter container restarted with ${what}`
}

/** What the output says about the consumers this command does not move itself (`pending`: stopped by --keep-old). */
export function consumerNote(stack: Pick<Stack, 'runtime' | 'user'>, user: UserName, files: { secretFile: string; pendingFile: string }, pending: boolean): string | undefined {
  if (user === 'app' || user === 'backup') {
    return pending
      ? `applications read ${files.secretFile} themselves: move them to the new password (in ${files.pendingFile}) now, while both work`
      : `applications read ${files.secretFile} themselves: they must re-read it before they open new connections (open ones stay logged in)`
  }
  if (user === 'exporter' && stack.runtime !== 'compose') return 'no exporter on this runtime: nothing to move'
  if (user === stack.user) return `this toolkit authenticates as ${user}: it uses the new password from here on`
  return undefined
}
