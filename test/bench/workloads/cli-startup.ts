// The CLI's start-up: `agentdb --version`, `--help` and `status` without a login (an empty AGENTDB_HOME), each
// against `node -e 0` run the same way in the same round. CI scripts call the CLI many times, so a command
// should pay only for what it loads (issue 10: at most 4x a bare Node.js start).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cliEnv, REPO } from '../../helpers/cluster.js';
import { runCollecting } from '../../helpers/spawn.js';
import { BenchError } from '../errors.js';
import { median } from '../stats.js';
import type { Sample, Target, Workload } from '../workload.js';

const RUNS = 20;
const TARGET_RATIO = 4;
const BASELINE = 'node -e 0';

/** What is started, and the exit code that shows it did its work (status without a login exits 3). */
const COMMANDS: { series: string; args: string[]; exit: number }[] = [
  { series: BASELINE, args: ['-e', '0'], exit: 0 },
  { series: 'agentdb --version', args: [path.join(REPO, 'bin/agentdb.js'), '--version'], exit: 0 },
  { series: 'agentdb --help', args: [path.join(REPO, 'bin/agentdb.js'), '--help'], exit: 0 },
  { series: 'agentdb status', args: [path.join(REPO, 'bin/agentdb.js'), 'status'], exit: 3 },
];

const ratioSeries = (series: string) => `${series} / ${BASELINE}`;

let home: string | undefined;

/** Milliseconds from spawn to exit of each command, `runs` times, interleaved so that noise falls on all alike. */
async function startTimes(runs: number): Promise<Map<string, number[]>> {
  home ??= await mkdtemp(path.join(tmpdir(), 'agentdb-bench-cli-'));
  const times = new Map(COMMANDS.map((c) => [c.series, [] as number[]]));
  for (let i = 0; i < runs; i++) {
    for (const c of COMMANDS) {
      const r = await runCollecting(process.execPath, c.args, { env: cliEnv(home) });
      if (r.code !== c.exit) throw new BenchError('AGENTDB_ERR_BENCH_CLI', `${c.series} exited ${r.code}, not ${c.exit}: ${r.stderr.trim()}`);
      times.get(c.series)!.push(r.ms);
    }
  }
  return times;
}

export const cliStartup: Workload = {
  id: 'cli-startup',
  title: `CLI start-up (median of ${RUNS} runs)`,
  async warmup() {
    await startTimes(2);
  },
  async round() {
    const times = await startTimes(RUNS);
    const base = median(times.get(BASELINE)!);
    const samples: Sample[] = [];
    for (const [series, ms] of times) samples.push({ figure: 'cli-startup', series, value: median(ms), unit: 'ms' });
    for (const c of COMMANDS.slice(1)) samples.push({ figure: 'cli-startup', series: ratioSeries(c.series), value: median(times.get(c.series)!) / base, unit: 'x' });
    return samples;
  },
  async cleanup() {
    if (home) await rm(home, { recursive: true, force: true });
    home = undefined;
  },
  targets: COMMANDS.slice(1).map(
    (c): Target => ({ name: `${c.series}: at most ${TARGET_RATIO}x ${BASELINE}`, figure: 'cli-startup', series: ratioSeries(c.series), op: '<=', target: TARGET_RATIO }),
  ),
};
