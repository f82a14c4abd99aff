import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/fuzz: a CI-sized batch of the property tests (`npm run fuzz -- --runs N` runs any number).
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/fuzz/**/*.fuzz.ts'],
    globalSetup: ['test/setup/global-postgres.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: integration and e2e suites each start servers; run files two at a time.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
