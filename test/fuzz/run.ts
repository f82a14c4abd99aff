// `npm run fuzz -- --runs N [--seconds S] [--target prefix,...] [--seed=S --path P] [--workers W] [--hang-seconds H]`: vitest rejects
// flags it does not know, so this maps them to the environment the harness reads, runs the fuzz config and
// prints what each target did (runs, messages, time, failures) and the peak RSS of the workers.
// Plain node (type stripping): it imports nothing of the project.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seconds: { type: 'string' },
    target: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    workers: { type: 'string', default: '1' },
    'hang-seconds': { type: 'string' },
  },
});

const dir = mkdtempSync(join(tmpdir(), 'agentdb-fuzz-'));
const report = join(dir, 'report.jsonl');
const env: Record<string, string | undefined> = { ...process.env, FUZZ_RUNS: values.runs, FUZZ_REPORT: report, FUZZ_WORKERS: values.workers };
if (values.seconds) env.FUZZ_SECONDS = values.seconds;
if (values.target) env.FUZZ_TARGET = values.target;
if (values.seed) env.FUZZ_SEED = values.seed;
if (values.path) env.FUZZ_PATH = values.path;
if (values['hang-seconds']) env.FUZZ_HANG_SECONDS = values['hang-seconds'];

const started = Date.now();
const run = spawnSync('npx', ['vitest', 'run', '--config', 'test/fuzz/vitest.config.ts'], { stdio: 'inherit', env });

interface Line {
  target: string;
  /** written by the watchdog instead of the figures when a run hung */
  hang?: boolean;
  run?: number;
  runs: number;
  messages: number;
  frontend: boolean;
  ms: number;
  failed: boolean;
  seed: number;
  maxRssKiB: number;
}
let lines: Line[] = [];
try {
  lines = readFileSync(report, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
} catch {
  // no target reported: vitest failed before running any
}
rmSync(dir, { recursive: true, force: true });

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`\n${'target'.padEnd(30)}${pad('runs', 12)}${pad('messages', 14)}${pad('seconds', 10)}${pad('failed', 8)}${pad('seed', 13)}`);
let runs = 0;
let frontend = 0;
let failures = 0;
let rss = 0;
let hangs = 0;
for (const l of lines) {
  if (l.hang) {
    console.log(`${l.target.padEnd(30)}  HANG in run ${l.run} (replay: --target ${l.target} --seed=${l.seed} --path ${l.run})`);
    hangs++;
    continue;
  }
  console.log(`${l.target.padEnd(30)}${pad(l.runs, 12)}${pad(l.messages, 14)}${pad((l.ms / 1000).toFixed(1), 10)}${pad(l.failed ? 'YES' : 0, 8)}${pad(l.seed, 13)}`);
  runs += l.runs;
  if (l.frontend) frontend += l.messages;
  if (l.failed) failures++;
  rss = Math.max(rss, l.maxRssKiB);
}
console.log(
  `\n${lines.length - hangs} targets, ${runs} runs, ${frontend} frontend messages, ${failures} failed, ${hangs} hung, ` +
    `peak worker RSS ${(rss / 1024).toFixed(0)} MiB, ${((Date.now() - started) / 1000).toFixed(0)} s wall`,
);
process.exit(hangs > 0 || failures > 0 ? 1 : (run.status ?? 1));
