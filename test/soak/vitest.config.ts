// `npm run soak`: the soak alone, without the test suite's global PostgreSQL (the soak starts its own, sized
// for its sessions), with a timeout long enough for the run, and its report printed as it comes.
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: path.resolve(import.meta.dirname, '../..'),
  test: {
    include: ['test/e2e/soak.test.ts'],
    testTimeout: 24 * 3600_000,
    hookTimeout: 5 * 60_000,
    maxWorkers: 1,
    fileParallelism: false,
    disableConsoleIntercept: true,
    reporters: ['default'],
  },
});
