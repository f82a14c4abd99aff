// The bench runner's arithmetic: comparisons between any two series of a round (a share of a path's CPU over the
// pipe measured at that path's rate), and targets relative to another series times a factor (p99 at most 4x
// pgbouncer's). A workload of fixed numbers stands in for the measuring: what is checked here is what the runner
// derives from them.
import { describe, expect, test } from 'vitest';
import type { BenchEnv } from '../bench/environment.js';
import { runWorkloads } from '../bench/runner.js';
import type { Workload } from '../bench/workload.js';

const env = { settings: { rounds: 3 }, endpoints: [] } as unknown as BenchEnv;

function workload(values: Record<string, number[]>, extra: Partial<Workload>): Workload {
  return {
    id: 'w',
    title: 'fixed numbers',
    async round(_env, _endpoints, r) {
      return Object.entries(values).map(([series, v]) => ({ figure: 'f', series, value: v[r]!, unit: 'µs' }));
    },
    ...extra,
  };
}

describe('bench runner', () => {
  test('a comparison of two series that are not paths is derived per round and summarised', async () => {
    const w = workload(
      { 'full: proxy': [40, 50, 60], 'pipe @ full rate': [80, 50, 40] },
      { comparisons: [{ figure: 'f', of: 'full: proxy', over: 'pipe @ full rate', kind: 'ratio' }] },
    );
    const out = await runWorkloads(env, [w], () => undefined);
    // Per round 0.5, 1, 1.5: the median of the ratios, not the ratio of the medians (50 / 50).
    expect(out.results.f!['full: proxy/pipe @ full rate']).toMatchObject({ median: 1, min: 0.5, max: 1.5, unit: 'x' });
  });

  test('a target relative to another series is that series times its factor', async () => {
    const w = workload(
      { gateway: [90, 100, 110], pgbouncer: [20, 30, 40] },
      {
        targets: [
          { name: 'at most 4x', figure: 'f', series: 'gateway', op: '<=', target: { series: 'pgbouncer', times: 4 } },
          { name: 'at most 3x', figure: 'f', series: 'gateway', op: '<=', target: { series: 'pgbouncer', times: 3 } },
          { name: 'no more than', figure: 'f', series: 'gateway', op: '<=', target: { series: 'pgbouncer' } },
          { name: 'missing', figure: 'f', series: 'gateway', op: '<=', target: { series: 'pipe', times: 2 } },
        ],
      },
    );
    const out = await runWorkloads(env, [w], () => undefined);
    expect(out.targets.map((t) => [t.name, t.target, t.measured, t.met])).toEqual([
      ['at most 4x', 120, 100, true],
      ['at most 3x', 90, 100, false],
      ['no more than', 30, 100, false],
      ['missing', null, 100, null],
    ]);
  });
});
