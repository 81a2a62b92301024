// Moved to compose: `pnpm backup:drill` starts a throwaway cluster on spare ports too.
export { allocatePorts, ephemeralRange } from '@redis-cluster/compose'
