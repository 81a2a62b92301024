export { createCluster, type CreateClusterResult } from './create.ts'
export { checkHealth, waitForHealthy, type HealthReport, type WaitForHealthyOptions } from './health.ts'
export { formCluster, type FormClusterResult } from './up.ts'
export { readdressNodes } from './readdress.ts'
