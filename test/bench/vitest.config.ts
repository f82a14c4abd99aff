// `npm run bench`: the benchmark suite alone, without the test suite's global PostgreSQL (the bench starts
// its own, with TLS and room for 1,000 sessions), with timeouts long enough for a full run.
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: path.resolve(import.meta.dirname, '../..'),
  test: {
    include: [process.env.AGENTDB_BENCH_FILE ?? 'test/bench/bench.test.ts'],
    testTimeout: 20 * 60_000,
    hookTimeout: 5 * 60_000,
    fileParallelism: false,
    maxWorkers: 1,
    // Progress lines and the table go straight to the terminal as they are printed.
    disableConsoleIntercept: true,
    reporters: ['default'],
  },
});
