import { defineConfig } from 'vitest/config'

// Tests that start the daemon use dist/: `npm test` builds first (pretest).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
