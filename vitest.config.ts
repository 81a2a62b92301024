import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real redis-server processes on their own ports;
    // running files one at a time keeps a 2-core machine from timing out.
    fileParallelism: false,
  },
})
