// The one way a fuzz target runs: fast-check's check() with a run count from the environment (a small one in
// `npm test`, any number under `npm run fuzz -- --runs N`), the seed and counterexample path printed on failure,
// and a line of figures per target appended to $FUZZ_REPORT for the runner to sum up.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect } from 'vitest';
import { startWatchdog } from './watchdog.js';

/** Counts what a target fed to the code under test, so the report can say "N frontend messages". */
export interface FuzzCounter {
  messages: number;
}

export interface FuzzTarget {
  /** stable name, used by --target and in the report */
  name: string;
  /** runs in `npm test`: small enough that all targets together take seconds */
  ciRuns: number;
  /** whether `messages` counts frontend (client-to-gateway) messages, the figure issue 15 asks for */
  frontend: boolean;
}

export interface FuzzReportLine {
  target: string;
  runs: number;
  messages: number;
  frontend: boolean;
  ms: number;
  failed: boolean;
  seed: number;
  maxRssKiB: number;
}

function envInt(name: string, min = 0): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** Is this target selected by $FUZZ_TARGET (a comma-separated list of name prefixes; all when unset)? */
export function selected(name: string): boolean {
  const wanted = process.env.FUZZ_TARGET;
  if (!wanted) return true;
  return wanted.split(',').some((w) => name.startsWith(w.trim()));
}

/**
 * Runs one property. FUZZ_RUNS overrides the CI run count, FUZZ_SECONDS caps each target's time (the runs done
 * by then count as passed), FUZZ_SEED replays a reported failure (with FUZZ_PATH for its shrunk case),
 * FUZZ_HANG_SECONDS (default 30) is how long one run may take before it counts as a hang.
 */
export function checkTarget<Ts>(target: FuzzTarget, counter: FuzzCounter, property: fc.IProperty<Ts>): void {
  const runs = envInt('FUZZ_RUNS') ?? target.ciRuns;
  const seconds = envInt('FUZZ_SECONDS');
  const seed = envInt('FUZZ_SEED', -(2 ** 31)) ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const path = process.env.FUZZ_PATH;
  const params: fc.Parameters<Ts> = { numRuns: runs, seed, verbose: fc.VerbosityLevel.Verbose, endOnFailure: false };
  if (path) params.path = path;
  if (seconds !== undefined && seconds > 0) params.interruptAfterTimeLimit = seconds * 1000;
  counter.messages = 0;
  const report = process.env.FUZZ_REPORT;
  // A run that makes no progress for this long is a hang: reported with its replay seed, and the worker killed.
  const watchdog = startWatchdog(target.name, seed, envInt('FUZZ_HANG_SECONDS', 1) ?? 30, report);
  const started = performance.now();
  params.plugins = [fc.beforeEach(() => watchdog.beat())];
  const details = fc.check(property, params);
  void watchdog.stop();
  const line: FuzzReportLine = {
    target: target.name,
    runs: details.numRuns,
    messages: counter.messages,
    frontend: target.frontend,
    ms: Math.round(performance.now() - started),
    failed: details.failed,
    seed: details.seed,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  if (report) appendFileSync(report, JSON.stringify(line) + '\n');
  // defaultReportMessage names the seed and path: `FUZZ_SEED=<seed> FUZZ_PATH=<path>` replays the shrunk case.
  if (details.failed) {
    const cause = details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance);
    expect.fail(`fuzz target ${target.name} failed (replay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''})\n${fc.defaultReportMessage(details)}\n${cause}`);
  }
  expect(details.numRuns).toBeGreaterThan(0);
}

/** Cuts a buffer into chunks at the given points (sorted, deduplicated, clamped): "split anywhere". */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.min(Math.max(c, 0), buf.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) chunks.push(buf.subarray(from, p));
    from = Math.max(from, p);
  }
  chunks.push(buf.subarray(from));
  return chunks;
}

/** Arbitrary cut points for a buffer of up to `max` bytes. */
export const cutsArb = (max = 4096) => fc.array(fc.nat({ max }), { maxLength: 24 });

/**
 * Damage done to well-formed bytes: overwrite, delete or insert a few bytes, or cut the tail. A broken peer
 * mostly sends almost-right bytes; purely random ones are rejected at the first length word.
 */
export type Mutation = { at: number; kind: 'set' | 'delete' | 'insert'; byte: number } | { at: number; kind: 'truncate' };

export const mutationsArb = fc.array(
  fc.oneof(
    fc.record({ at: fc.nat(), kind: fc.constantFrom('set' as const, 'delete' as const, 'insert' as const), byte: fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80)) }),
    fc.record({ at: fc.nat(), kind: fc.constant('truncate' as const) }),
  ),
  { minLength: 1, maxLength: 4 },
);

export function mutate(buf: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(buf);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'set') out[at] = m.byte;
    else if (m.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from([m.byte]), out.subarray(at)]);
    else out = out.subarray(0, at);
  }
  return out;
}

/** Runs fn and returns what it threw (undefined when it returned): properties assert on the kind of error. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
}
