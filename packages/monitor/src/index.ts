export { getStatus, type ClusterStatus, type NodeStatus } from './status.ts'
export { renderStatus } from './render-status.ts'
