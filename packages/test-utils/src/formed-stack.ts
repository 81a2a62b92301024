import { afterAll, beforeAll } from 'vitest'
import type { Stack } from '@redis-cluster/core'
import { createTestStack, formTestStack, type CreateTestStackOptions, type TestStack } from './test-stack.ts'

export interface FormedStack {
  readonly test: TestStack
  /** The stack as formTestStack loaded it. */
  readonly stack: Stack
}

/**
 * A formed local test cluster shared by the tests of one describe block:
 * created and formed in beforeAll, cleaned up in afterAll even when a test
 * failed. Read `test` and `stack` inside tests and hooks, once beforeAll ran.
 */
export function useFormedStack(options?: CreateTestStackOptions): FormedStack {
  let formed: FormedStack | undefined
  let test: TestStack | undefined
  beforeAll(async () => {
    test = await createTestStack(options)
    formed = { test, stack: await formTestStack(test) }
  })
  afterAll(() => test?.cleanup())
  const ready = (): FormedStack => {
    if (!formed) throw new Error('useFormedStack: read test and stack inside a test or hook, after its beforeAll')
    return formed
  }
  return {
    get test() { return ready().test },
    get stack() { return ready().stack },
  }
}
