// Workload 1: pgbench's select-only script, 8 clients on 2 threads, in the simple and the prepared protocol.
// Every path as a ratio to the direct path (the physical limit) and to pgbouncer (what a pooler costs).
import { NODE_PIPE, PATH_NAMES, PROXY_SHARE, shareSeries, type PathName } from '../paths.js';
import { pgbenchTps } from '../pgbench.js';
import { compareAll, type Workload } from '../workload.js';

const WARMUP_SECONDS = 1;

export function pgbenchTpsWorkload(mode: 'simple' | 'prepared'): Workload {
  const id = `tps-${mode}`;
  const args = ['-S', '-c', '8', '-j', '2', '-M', mode];
  // The simple run also measures the bare Node.js pipe (the prepared run leaves it out to stay within the
  // bench's ten minutes): what a relay costs before it does any of the gateway's work.
  const pipe: PathName[] = mode === 'simple' ? [NODE_PIPE] : [];
  return {
    id,
    title: `pgbench -S -c 8 -j 2 -M ${mode} (TPS)`,
    paths: [...PATH_NAMES, ...pipe],
    async warmup(env, endpoints) {
      for (const e of endpoints) await pgbenchTps(env.settings.pgbench, e, args, WARMUP_SECONDS);
    },
    async round(env, endpoints) {
      const samples = [];
      for (const e of endpoints) {
        const r = await pgbenchTps(env.settings.pgbench, e, args, env.settings.seconds);
        samples.push({ figure: id, series: e.path, value: r.tps, unit: 'tps' });
        // The work behind the ratio: on a machine whose cores pgbench and PostgreSQL share, TPS is set by how
        // much CPU the middle process takes per transaction, not by how long it waits.
        if (r.cpuPerTx !== undefined) samples.push({ figure: `${id}-cpu`, series: e.path, value: r.cpuPerTx, unit: 'µs CPU/tx' });
        // Which process and thread that CPU goes to (the full path: the proxy, the gateway's relay thread, its
        // store writer thread): where a change to the data path has to look.
        for (const s of r.cpuShares ?? []) samples.push({ figure: `${id}-cpu`, series: shareSeries(e.path, s.name), value: s.perTx, unit: 'µs CPU/tx' });
      }
      return samples;
    },
    comparisons: [
      ...compareAll(id, 'ratio', 'direct', ['pgbouncer', 'gateway', 'full', ...pipe]),
      ...compareAll(id, 'ratio', 'pgbouncer', ['gateway', 'full', ...pipe]),
      ...(pipe.length ? compareAll(id, 'ratio', NODE_PIPE, ['gateway']) : []),
    ],
    targets: [
      { name: `Workload 1 (${mode}): gateway TPS over pgbouncer's`, figure: id, series: 'gateway/pgbouncer', op: '>=', target: 1.0 },
      // The local proxy only tunnels bytes: it should cost no more per transaction than a bare TLS pipe.
      ...(pipe.length
        ? [{ name: `Workload 1 (${mode}): local proxy CPU per transaction, no more than the bare pipe's`, figure: `${id}-cpu`, series: shareSeries('full', PROXY_SHARE), op: '<=' as const, target: { series: NODE_PIPE } }]
        : []),
    ],
  };
}
