// `npm run fuzz`: the property tests alone, without the embedded PostgreSQL of the main config (no target
// needs it), with no time limit per test: a long run is the point.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    testTimeout: 0,
    maxWorkers: Number(process.env.FUZZ_WORKERS ?? 1),
    fileParallelism: true,
    reporters: ['default'],
  },
});
