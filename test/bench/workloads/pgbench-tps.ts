// Workload 1: pgbench's select-only script, 8 clients on 2 threads, in the simple and the prepared protocol.
// Every path as a ratio to the direct path (the physical limit) and to pgbouncer (what a pooler costs).
import { NODE_PIPE, PATH_NAMES, PROXY_SHARE, shareSeries, type PathName } from '../paths.js';
import { pgbenchTps } from '../pgbench.js';
import { compareAll, type Workload } from '../workload.js';

const WARMUP_SECONDS = 1;
/**
 * The pipe's runs at another path's rate: long enough for /proc's 10 ms ticks to read its CPU per transaction
 * within about 1% at a few thousand transactions a second.
 */
const AT_RATE_SECONDS = 5;

/**
 * The pipe measured at the rate `path` reached in the same round (pgbench -R): a relay's CPU per transaction
 * falls as its load rises (more messages per wake-up, per epoll_wait, per context switch), so a path that runs
 * at a third of the pipe's rate pays for its wake-ups three times as often. At the same rate the difference is
 * the path's own work. The series the gateway's and the proxy's CPU are compared with.
 */
export const pipeAtRateOf = (path: 'gateway' | 'full'): string => `${NODE_PIPE} @ ${path} rate`;

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
      const pipeEndpoint = endpoints.find((e) => e.path === NODE_PIPE);
      for (const path of pipe.length && pipeEndpoint ? (['gateway', 'full'] as const) : []) {
        const rate = samples.find((s) => s.figure === id && s.series === path)?.value;
        if (rate === undefined) continue;
        const r = await pgbenchTps(env.settings.pgbench, pipeEndpoint!, [...args, '-R', String(Math.round(rate))], Math.min(AT_RATE_SECONDS, env.settings.seconds));
        if (r.cpuPerTx !== undefined) samples.push({ figure: `${id}-cpu`, series: pipeAtRateOf(path), value: r.cpuPerTx, unit: 'µs CPU/tx' });
      }
      return samples;
    },
    comparisons: [
      ...compareAll(id, 'ratio', 'direct', ['pgbouncer', 'gateway', 'full', ...pipe]),
      ...compareAll(id, 'ratio', 'pgbouncer', ['gateway', 'full', ...pipe]),
      ...(pipe.length ? compareAll(id, 'ratio', NODE_PIPE, ['gateway']) : []),
      ...(pipe.length
        ? [
            { figure: `${id}-cpu`, of: 'gateway', over: NODE_PIPE, kind: 'ratio' as const },
            { figure: `${id}-cpu`, of: 'gateway', over: pipeAtRateOf('gateway'), kind: 'ratio' as const },
            { figure: `${id}-cpu`, of: shareSeries('full', PROXY_SHARE), over: pipeAtRateOf('full'), kind: 'ratio' as const },
          ]
        : []),
    ],
    targets: [
      { name: `Workload 1 (${mode}): gateway TPS over pgbouncer's`, figure: id, series: 'gateway/pgbouncer', op: '>=', target: 1.0 },
      // Issue #13's steps on the way there.
      { name: `Workload 1 (${mode}): gateway TPS at least 0.8x pgbouncer's`, figure: id, series: 'gateway/pgbouncer', op: '>=', target: 0.8 },
      { name: `Workload 1 (${mode}): full path TPS at least 0.65x pgbouncer's`, figure: id, series: 'full/pgbouncer', op: '>=', target: 0.65 },
      // The local proxy only tunnels bytes: it should cost no more per transaction than a bare TLS pipe.
      ...(pipe.length
        ? [
            { name: `Workload 1 (${mode}): local proxy CPU per transaction, no more than the bare pipe's`, figure: `${id}-cpu`, series: shareSeries('full', PROXY_SHARE), op: '<=' as const, target: { series: NODE_PIPE } },
            { name: `Workload 1 (${mode}): local proxy CPU per transaction, no more than the bare pipe's at the full path's rate`, figure: `${id}-cpu`, series: `${shareSeries('full', PROXY_SHARE)}/${pipeAtRateOf('full')}`, op: '<=' as const, target: 1.0 },
            { name: `Workload 1 (${mode}): gateway CPU per transaction, at most 1.5x the bare pipe's`, figure: `${id}-cpu`, series: `gateway/${NODE_PIPE}`, op: '<=' as const, target: 1.5 },
            { name: `Workload 1 (${mode}): gateway CPU per transaction, at most 1.5x the bare pipe's at the gateway's rate`, figure: `${id}-cpu`, series: `gateway/${pipeAtRateOf('gateway')}`, op: '<=' as const, target: 1.5 },
          ]
        : []),
    ],
  };
}
