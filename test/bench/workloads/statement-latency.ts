// Workload 2: one client, one trivial statement at a time: what each path adds to a round trip, at the
// median and at p99, in microseconds. pgbench's per-transaction log gives every statement's latency.
import { PATH_NAMES } from '../paths.js';
import { pgbenchLatencies } from '../pgbench.js';
import { percentile } from '../stats.js';
import { compareAll, type Sample, type Workload } from '../workload.js';

const STATEMENTS = 2000;
const SQL = 'SELECT 1;';

export const statementLatency: Workload = {
  id: 'latency',
  title: 'one client, SELECT 1 latency',
  paths: PATH_NAMES,
  async warmup(env, endpoints) {
    for (const e of endpoints) await pgbenchLatencies(env.settings.pgbench, e, SQL, 200);
  },
  async round(env, endpoints) {
    const samples: Sample[] = [];
    for (const e of endpoints) {
      const us = await pgbenchLatencies(env.settings.pgbench, e, SQL, STATEMENTS);
      samples.push({ figure: 'latency-p50', series: e.path, value: percentile(us, 50), unit: 'µs' });
      samples.push({ figure: 'latency-p99', series: e.path, value: percentile(us, 99), unit: 'µs' });
    }
    return samples;
  },
  comparisons: [...compareAll('latency-p50', 'added', 'direct', PATH_NAMES), ...compareAll('latency-p99', 'added', 'direct', PATH_NAMES)],
  targets: [{ name: "Workload 2: gateway p50 added latency, no more than pgbouncer's", figure: 'latency-p50', series: 'gateway-direct', op: '<=', target: { series: 'pgbouncer-direct' } }],
};
