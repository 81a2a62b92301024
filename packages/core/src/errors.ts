/**
 * Every failure a user can cause is one of these. Libraries throw them; only
 * `runScript` turns them into a stderr line, a `fix:` hint and an exit code
 * (the sysexits-style codes cron wrappers understand).
 */
export class RcError extends Error {
  readonly exitCode: number = 1
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
    this.name = new.target.name
  }
}

/** Bad flag or argument: exit 2. */
export class UsageError extends RcError {
  override readonly exitCode = 2
}

/** Wrong or missing configuration, secret or installation: exit 78 (EX_CONFIG). */
export class ConfigError extends RcError {
  override readonly exitCode = 78
}

/** Another run holds the lock: exit 75 (EX_TEMPFAIL), try again later. */
export class BusyError extends RcError {
  override readonly exitCode = 75
}

/** Something that may pass on a retry (node down, deadline passed): exit 75. */
export class TemporaryError extends RcError {
  override readonly exitCode = 75
}

/** The check ran and found a problem: exit 1. */
export class CheckFailedError extends RcError {
  override readonly exitCode = 1
}

/** Stopped by Ctrl-C or SIGTERM before it finished: exit 130, as a shell reports SIGINT. */
export class InterruptedError extends RcError {
  override readonly exitCode = 130
}

/** A bug or an unexpected state of ours: exit 1. */
export class InternalError extends RcError {
  override readonly exitCode = 1
}

export const EXIT_CODES = { ok: 0, failed: 1, usage: 2, busy: 75, config: 78, interrupted: 130 } as const
