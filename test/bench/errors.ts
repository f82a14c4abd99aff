// The benchmark suite's one error type: what could not be set up or run, in words that say what to do.
export class BenchError extends Error {
  constructor(
    readonly code: `AGENTDB_ERR_BENCH_${string}`,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
