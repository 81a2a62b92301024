import { loadStack, connectAll } from '@redis-cluster/core'
import { localRuntime } from '@redis-cluster/compose'
import { createCluster, checkHealth } from './src/index.ts'
const stack = loadStack()
const t0 = performance.now()
await localRuntime.start(stack)
console.log('started', (performance.now() - t0).toFixed(0))
const clients = await connectAll(stack)
await createCluster(stack, localRuntime, clients)
console.log('created', (performance.now() - t0).toFixed(0))
let last = ''
for (;;) {
  const r = await checkHealth(stack, clients)
  const s = r.problems.join('; ')
  if (s !== last) { console.log((performance.now() - t0).toFixed(0), s.slice(0, 400)); last = s }
  if (r.healthy) break
  await new Promise(r => setTimeout(r, 20))
}
for (const c of clients) c.disconnect()
