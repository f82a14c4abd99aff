// Workload 3: one large result (1,000,000 rows of about 150 bytes) read with node-postgres through each
// path, rows streamed and dropped as they come so the client keeps up; MB/s of DataRow bytes, as a ratio
// to the direct path.
import pg from 'pg';
import { BenchError } from '../errors.js';
import { nodePg, WITH_PIPE, type Endpoint } from '../paths.js';
import { compareAll, type Sample, type Workload } from '../workload.js';

export async function readAll(e: Endpoint, sql: string): Promise<{ rows: number; seconds: number }> {
  const client = new pg.Client(nodePg(e));
  await client.connect();
  try {
    const started = process.hrtime.bigint();
    let rows = 0;
    // Rows as arrays: the least work node-postgres can do per row, so the client is not what is measured.
    const config: pg.QueryArrayConfig = { text: sql, rowMode: 'array' };
    const query = new pg.Query(config);
    // A 'row' listener and no callback: node-postgres hands each row over instead of keeping a million.
    query.on('row', () => void rows++);
    await new Promise<void>((resolve, reject) => {
      query.once('end', () => resolve());
      query.once('error', reject);
      void client.query(query);
    });
    return { rows, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } finally {
    await client.end();
  }
}

export const largeResult: Workload = {
  id: 'large-result',
  title: '1,000,000 rows x ~150 bytes with node-postgres (MB/s)',
  paths: WITH_PIPE,
  async warmup(env, endpoints) {
    for (const e of endpoints) await readAll(e, `SELECT * FROM ${env.largeTable.name} LIMIT 50000`);
  },
  async round(env, endpoints) {
    const samples: Sample[] = [];
    const t = env.largeTable;
    for (const e of endpoints) {
      const r = await readAll(e, `SELECT * FROM ${t.name}`);
      if (r.rows !== t.rows) throw new BenchError('AGENTDB_ERR_BENCH_SHORT_READ', `the ${e.path} path returned ${r.rows} of ${t.rows} rows`);
      samples.push({ figure: 'large-result', series: e.path, value: t.wireBytes / 1e6 / r.seconds, unit: 'MB/s' });
    }
    return samples;
  },
  comparisons: compareAll('large-result', 'ratio', 'direct', WITH_PIPE),
  targets: [{ name: 'Workload 3: gateway MB/s over direct', figure: 'large-result', series: 'gateway/direct', op: '>=', target: 0.85 }],
};
