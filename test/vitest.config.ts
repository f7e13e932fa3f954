import { defineConfig } from 'vitest/config';

// Kept under test/ so the top level of the repo stays as the project asks.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
