// Workload 4: a new connection and its first query, one after another, with the certificate already held
// (the full path's proxy fetched it at start): what each path adds in milliseconds, p50 and p99.
import pg from 'pg';
import { nodePg, PATH_NAMES, type Endpoint } from '../paths.js';
import { percentile } from '../stats.js';
import { compareAll, type Sample, type Workload } from '../workload.js';

const CONNECTIONS = 100;

async function connectTimes(e: Endpoint, count: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    const client = new pg.Client(nodePg(e));
    try {
      await client.connect();
      await client.query('SELECT 1');
      ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    } finally {
      await client.end();
    }
  }
  return ms;
}

export const connectionSetup: Workload = {
  id: 'connect',
  title: 'connect + first query',
  paths: PATH_NAMES,
  async warmup(_env, endpoints) {
    for (const e of endpoints) await connectTimes(e, 10);
  },
  async round(_env, endpoints) {
    const samples: Sample[] = [];
    for (const e of endpoints) {
      const ms = await connectTimes(e, CONNECTIONS);
      samples.push({ figure: 'connect-p50', series: e.path, value: percentile(ms, 50), unit: 'ms' });
      samples.push({ figure: 'connect-p99', series: e.path, value: percentile(ms, 99), unit: 'ms' });
    }
    return samples;
  },
  comparisons: [...compareAll('connect-p50', 'added', 'direct', PATH_NAMES), ...compareAll('connect-p99', 'added', 'direct', PATH_NAMES)],
  targets: [{ name: 'Workload 4: full path connect + first query, added at p50', figure: 'connect-p50', series: 'full-direct', op: '<=', target: 5 }],
};
