import type { Stack } from '@redis-cluster/core'
import type { Runtime } from './runtime.ts'
import { localRuntime } from './local.ts'
import { composeRuntime } from './compose-runtime.ts'
import { externalRuntime } from './external.ts'
import { assertEngine, dockerEndpoint, dockerGet, engineProblem } from './_docker.ts'
import { composeImages } from './_compose-preflight.ts'

export interface RuntimeChoice {
  readonly runtime: Runtime
  /** Why this runtime, in a few words (for --json and debugging). */
  readonly reason: string
  /** A line the user should see: set when `auto` fell back to local. */
  readonly notice?: string
}

export interface SelectRuntimeOptions {
  /** Receives the one-line notice of an `auto` fallback (e.g. ScriptContext.progress). */
  notice?: (line: string) => void
}

/** Picks the runtime named by RC_RUNTIME; see chooseRuntime for `auto`. */
export async function selectRuntime(stack: Stack, { notice }: SelectRuntimeOptions = {}): Promise<Runtime> {
  const choice = await chooseRuntime(stack)
  if (choice.notice) notice?.(choice.notice)
  return choice.runtime
}

const PING_TIMEOUT_MS = 500

/**
 * `auto` follows where this stack's state is, so a user never gets a second,
 * empty cluster by accident; only a stack with no state anywhere goes by
 * what is available:
 * 1. local redis-server processes of this stack run → local;
 * 2. no Docker engine answers (within 500 ms) → local, with a notice;
 * 3. containers or volumes of compose project RC_PROJECT exist → compose;
 * 4. local node data exists (`RC_DATA_DIR/redis-node-N`) → local;
 * 5. the node image is present → compose; else local, with a notice (a pull may hang).
 * Costs a few HTTP calls on the engine socket and no process spawn.
 */
export async function chooseRuntime(stack: Stack): Promise<RuntimeChoice> {
  switch (stack.runtime) {
    case 'local':
      return { runtime: localRuntime, reason: 'RC_RUNTIME=local' }
    case 'compose':
      await assertEngine(stack)
      return { runtime: composeRuntime, reason: 'RC_RUNTIME=compose' }
    case 'external':
      return { runtime: externalRuntime, reason: `RC_RUNTIME=external (seeds ${stack.seeds.map((s) => `${s.host}:${s.port}`).join(',')})` }
    case 'auto':
      return chooseAuto(stack)
  }
}

async function chooseAuto(stack: Stack): Promise<RuntimeChoice> {
  const local = await localRuntime.ps(stack)
  if (local.some((n) => n.state === 'running')) return { runtime: localRuntime, reason: 'local nodes of this stack are running' }
  const problem = await engineProblem(stack, PING_TIMEOUT_MS)
  if (problem) {
    return {
      runtime: localRuntime,
      reason: 'no Docker engine answers',
      notice: `no Docker engine answers (${problem}): using the local runtime (set RC_RUNTIME=local or RC_RUNTIME=compose to choose)`,
    }
  }
  const endpoint = dockerEndpoint(stack.env)
  if (!endpoint.http) return { runtime: composeRuntime, reason: `the Docker engine answers (${endpoint.label})` }
  const label = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${stack.projectName}`] }))
  const [containers, volumes] = await Promise.all([
    dockerGet<unknown[]>(endpoint, `/containers/json?all=1&filters=${label}`, PING_TIMEOUT_MS),
    dockerGet<{ Volumes: unknown[] | null }>(endpoint, `/volumes?filters=${label}`, PING_TIMEOUT_MS),
  ]).catch(() => [undefined, undefined] as const)
  if (containers?.length || volumes?.Volumes?.length) return { runtime: composeRuntime, reason: `compose project ${stack.projectName} exists` }
  if (local.some((n) => n.state === 'stopped')) return { runtime: localRuntime, reason: `local node data exists in ${stack.dataDir}` }
  const [image] = composeImages(stack)
  const present = image === undefined || (await dockerGet(endpoint, `/images/${image}/json`, PING_TIMEOUT_MS).catch(() => undefined)) !== undefined
  if (present) return { runtime: composeRuntime, reason: 'the Docker engine answers' }
  return {
    runtime: localRuntime,
    reason: `image ${image} is not present`,
    notice: `Docker answers but image ${image} is not present: using the local runtime (build it: scripts/build-redis-image.sh, set REDIS_IMAGE; or RC_RUNTIME=local to silence)`,
  }
}
