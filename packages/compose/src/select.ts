import { ConfigError, type Stack } from '@redis-cluster/core'
import type { Runtime } from './runtime.ts'
import { localRuntime } from './local.ts'

/** Picks the runtime named by RC_RUNTIME. */
export async function selectRuntime(stack: Stack): Promise<Runtime> {
  switch (stack.runtime) {
    case 'local':
    case 'auto':
      return localRuntime
    default:
      throw new ConfigError(`RC_RUNTIME=${stack.runtime} is not available yet`, 'use RC_RUNTIME=local')
  }
}
