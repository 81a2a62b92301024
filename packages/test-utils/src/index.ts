export { allocatePorts, ephemeralRange } from './ports.ts'
export { createTestStack, type TestStack, type CreateTestStackOptions } from './test-stack.ts'
export { runCli, type CliResult } from './run-cli.ts'
export { REPO_ROOT } from './paths.ts'
