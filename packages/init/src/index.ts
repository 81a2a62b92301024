export { createCluster, type CreateClusterResult } from './create.ts'
export { formCluster, type FormClusterResult } from './up.ts'
export { readdressNodes } from './readdress.ts'
