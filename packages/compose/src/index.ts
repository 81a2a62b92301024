export type { Runtime, NodeState, StartResult, StopResult, StartOptions } from './runtime.ts'
export { localRuntime } from './local.ts'
export { selectRuntime } from './select.ts'
export { isPortFree, findPortOwner } from './_ports.ts'
