import { CheckFailedError, TemporaryError } from './errors.ts'
import { describeRedisError } from './redis-errors.ts'
import { currentRun } from './run-context.ts'
import type { Stack } from './stack.ts'
import { runShell } from './zx.ts'

/**
 * Runs `redis-cli -e ARGS`, after `prefix` (e.g. `docker exec -e REDISCLI_AUTH ID`
 * to run it inside a node container): the password goes in REDISCLI_AUTH,
 * never argv; the run's deadline and Ctrl-C stop it (a paused node keeps
 * redis-cli waiting forever); and its failures become the same typed errors
 * as ours, so a wrong password exits 78 with a fix, not redis-cli's raw text.
 */
export async function runRedisCli(stack: Pick<Stack, 'user' | 'password' | 'timeoutMs'> & { readonly tls?: Stack['tls'] }, args: readonly string[], { prefix = [], env = process.env }: { prefix?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const run = currentRun()
  const timeout = Math.max(1, (run?.deadline ?? Date.now() + stack.timeoutMs) - Date.now())
  const user = stack.user === 'default' ? [] : ['--user', stack.user]
  // RC_TLS: the same CA and client certificate as the toolkit's own clients (paths only; the key stays in its 0600 file)
  const tls = stack.tls ? ['--tls', '--cacert', stack.tls.ca, '--cert', stack.tls.clientCert, '--key', stack.tls.clientKey] : []
  const out = await (await runShell({ env: { ...env, REDISCLI_AUTH: stack.password }, quiet: true, nothrow: true, timeout }))`${prefix} redis-cli ${user} ${tls} -e ${args}`
  if (out.exitCode === 0) return out.stdout
  const subject = { name: 'redis-cli', host: flagValue(args, '-h') ?? '127.0.0.1', port: Number(flagValue(args, '-p') ?? 6379) }
  if (out.signal) throw run?.signal.aborted ? run.signal.reason : new TemporaryError(`${subject.name} did not finish within ${(timeout / 1000).toFixed(1)}s (is the node paused?)`, 'check the node with `pnpm status`')
  const text = `${out.stderr}\n${out.stdout}`.trim()
  const line = text.split('\n').find((l) => /WRONGPASS|NOAUTH|NOPERM|SSL_connect|Could not connect|refused|timed out|LOADING|MISCONF|CLUSTERDOWN|TRYAGAIN/i.test(l)) ?? text.split('\n').at(-1) ?? ''
  if (/SSL_connect failed/.test(line)) throw describeRedisError(subject, new Error(line), undefined, stack.tls)
  if (/Could not connect|Connection refused/i.test(line)) throw describeRedisError(subject, Object.assign(new Error(line), { code: 'ECONNREFUSED' }))
  const error = describeRedisError(subject, new Error(line.replace(/^(\(error\) |AUTH failed: )/, '')))
  if (error instanceof TemporaryError && !/timed out|LOADING|CLUSTERDOWN|TRYAGAIN/i.test(line)) throw new CheckFailedError(`redis-cli failed (exit ${out.exitCode}): ${line || 'no output'}`)
  throw error
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag)
  return at >= 0 ? args[at + 1] : undefined
}
