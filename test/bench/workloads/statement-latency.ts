// Workload 2: one client, one trivial statement at a time (simple protocol): what each path adds to a round
// trip, at the median and at p99, in microseconds. Timed around each query in node-postgres: its own cost
// per statement is the same on every path and cancels out of the added figures. (pgbench's per-transaction
// log was tried first; its lazily read clock logs a share of sub-50 µs statements as 0 µs.)
import pg from 'pg';
import { nodePg, WITH_PIPE, type Endpoint } from '../paths.js';
import { percentile } from '../stats.js';
import { compareAll, type Sample, type Workload } from '../workload.js';

const STATEMENTS = 2000;
const SQL = 'SELECT 1';

async function latencies(e: Endpoint, count: number): Promise<number[]> {
  const client = new pg.Client(nodePg(e));
  await client.connect();
  try {
    const us: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      await client.query(SQL);
      us.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    return us;
  } finally {
    await client.end();
  }
}

export const statementLatency: Workload = {
  id: 'latency',
  title: 'one client, SELECT 1 latency',
  paths: WITH_PIPE,
  async warmup(_env, endpoints) {
    for (const e of endpoints) await latencies(e, 500);
  },
  async round(_env, endpoints) {
    const samples: Sample[] = [];
    for (const e of endpoints) {
      const us = await latencies(e, STATEMENTS);
      samples.push({ figure: 'latency-p50', series: e.path, value: percentile(us, 50), unit: 'µs' });
      samples.push({ figure: 'latency-p99', series: e.path, value: percentile(us, 99), unit: 'µs' });
    }
    return samples;
  },
  comparisons: [...compareAll('latency-p50', 'added', 'direct', WITH_PIPE), ...compareAll('latency-p99', 'added', 'direct', WITH_PIPE)],
  targets: [
    { name: "Workload 2: gateway p50 added latency, no more than pgbouncer's", figure: 'latency-p50', series: 'gateway-direct', op: '<=', target: { series: 'pgbouncer-direct' } },
    // Issue #13's: what users get (the full path) and the gateway alone, at p50 and p99.
    ...(['gateway', 'full'] as const).flatMap((path) => [
      { name: `Workload 2: ${path} p50 added latency, at most 2x pgbouncer's`, figure: 'latency-p50', series: `${path}-direct`, op: '<=' as const, target: { series: 'pgbouncer-direct', times: 2 } },
      { name: `Workload 2: ${path} p99 added latency, at most 4x pgbouncer's`, figure: 'latency-p99', series: `${path}-direct`, op: '<=' as const, target: { series: 'pgbouncer-direct', times: 4 } },
    ]),
  ],
};
