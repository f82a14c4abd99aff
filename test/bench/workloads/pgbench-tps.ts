// Workload 1: pgbench's select-only script, 8 clients on 2 threads, in the simple and the prepared protocol.
// Every path as a ratio to the direct path (the physical limit) and to pgbouncer (what a pooler costs).
import { PATH_NAMES } from '../paths.js';
import { pgbenchTps } from '../pgbench.js';
import { compareAll, type Workload } from '../workload.js';

const WARMUP_SECONDS = 2;

export function pgbenchTpsWorkload(mode: 'simple' | 'prepared'): Workload {
  const id = `tps-${mode}`;
  const args = ['-S', '-c', '8', '-j', '2', '-M', mode];
  return {
    id,
    title: `pgbench -S -c 8 -j 2 -M ${mode} (TPS)`,
    paths: PATH_NAMES,
    async warmup(env, endpoints) {
      for (const e of endpoints) await pgbenchTps(env.settings.pgbench, e, args, WARMUP_SECONDS);
    },
    async round(env, endpoints) {
      const samples = [];
      for (const e of endpoints) samples.push({ figure: id, series: e.path, value: await pgbenchTps(env.settings.pgbench, e, args, env.settings.seconds), unit: 'tps' });
      return samples;
    },
    comparisons: [
      ...compareAll(id, 'ratio', 'direct', ['pgbouncer', 'gateway', 'full']),
      ...compareAll(id, 'ratio', 'pgbouncer', ['gateway', 'full']),
    ],
    targets: [{ name: `Workload 1 (${mode}): gateway TPS over pgbouncer's`, figure: id, series: 'gateway/pgbouncer', op: '>=', target: 1.0 }],
  };
}
