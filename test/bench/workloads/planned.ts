// Policy decision cost and masked throughput (issues 4 and 5 report them through the bench).
import { performance } from 'node:perf_hooks';
import { analyze, compilePolicy, loadParser } from '../../../src/policy/index.js';
import { demoRoles } from '../../../src/server/dev/demo-roles.js';
import { roleSchema } from '../../../src/policy/index.js';
import { BenchError } from '../errors.js';
import { MASKED_TABLE } from '../bench-data.js';
import { PATH_NAMES } from '../paths.js';
import { compareAll, type Sample, type Workload } from '../workload.js';
import { readAll } from './large-result.js';

const DECISIONS = 20_000;

/** The demo agent's policy, decided in-process: the cost the gateway pays per statement before forwarding. */
export const policyDecisionCost: Workload = {
  id: 'policy-decision',
  title: 'policy decision cost (µs per statement: parse + decide; new numbers in a known shape; same text)',
  async round() {
    await loadParser();
    const roles = Object.fromEntries(Object.entries(demoRoles('customers')).map(([k, v]) => [k, roleSchema.parse(v)]));
    const policy = compilePolicy(roles);
    const identity = { name: 'demo-agent', kind: 'agent', roles: ['demo-agent'] };
    const run = (sqlOf: (i: number) => string) => {
      const t = performance.now();
      for (let i = 0; i < DECISIONS; i++) for (const s of analyze(sqlOf(i)).statements) policy.decide(identity, s);
      return ((performance.now() - t) * 1000) / DECISIONS;
    };
    // A new string literal every time is a new text to parse; new numbers in a known shape share the shape's
    // analysis (numeric templates); the same text is one lookup.
    const salt = Math.random().toString(36).slice(2);
    const uncached = run((i) => `SELECT id, amount FROM orders WHERE customer_id = 7 AND status <> '${salt}${i}' ORDER BY id LIMIT 10`);
    const template = run((i) => `SELECT id, amount FROM orders WHERE customer_id = ${i} AND status <> '${salt}' ORDER BY id LIMIT 10`);
    const cached = run(() => 'SELECT id, amount FROM orders WHERE customer_id = $1 ORDER BY id LIMIT 10');
    return [
      { figure: 'policy-decision', series: 'uncached', value: uncached, unit: 'µs' },
      { figure: 'policy-decision', series: 'template', value: template, unit: 'µs' },
      { figure: 'policy-decision', series: 'cached', value: cached, unit: 'µs' },
    ];
  },
};

/** Like the large result, but two of the columns are masked for the agent (and detectors scan the rest). */
export const maskedThroughput: Workload = {
  id: 'masked-throughput',
  title: '1,000,000 rows, two masked columns + content detectors (MB/s)',
  paths: PATH_NAMES,
  async round(env, endpoints) {
    const samples: Sample[] = [];
    const t = env.largeTable;
    for (const e of endpoints) {
      const r = await readAll(e, `SELECT * FROM ${MASKED_TABLE}`);
      if (r.rows !== t.rows) throw new BenchError('AGENTDB_ERR_BENCH_SHORT_READ', `the ${e.path} path returned ${r.rows} of ${t.rows} rows`);
      // Measured against the unmasked wire size: the same rows, so MB/s compare like with like.
      samples.push({ figure: 'masked-throughput', series: e.path, value: t.wireBytes / 1e6 / r.seconds, unit: 'MB/s' });
    }
    return samples;
  },
  comparisons: compareAll('masked-throughput', 'ratio', 'direct', PATH_NAMES),
  targets: [
    { name: 'Issue 5: masked MB/s over direct', figure: 'masked-throughput', series: 'gateway/direct', op: '>=', target: 0.8 },
    { name: "Issue 13: masked MB/s at least 0.7x direct's", figure: 'masked-throughput', series: 'gateway/direct', op: '>=', target: 0.7 },
  ],
};
