// Runs the workloads: each one's rounds back to back, every path once per round with the starting path
// rotated, so that no path always runs first (cold) or last (after the machine warmed up).
import type { BenchEnv } from './environment.js';
import { BenchError } from './errors.js';
import type { Endpoint } from './paths.js';
import { summarize, type Summary } from './stats.js';
import { seriesOf, type Sample, type Workload } from './workload.js';

export type Results = Record<string, Record<string, Summary>>;

export interface TargetResult {
  name: string;
  target: number | null;
  measured: number | null;
  unit: string;
  op: '>=' | '<=';
  met: boolean | null;
  note?: string;
}

export interface RunOutcome {
  results: Results;
  targets: TargetResult[];
  planned: { id: string; title: string; note: string }[];
  /** workloads that failed: the report shows them, and the run fails */
  errors: string[];
}

export type Log = (line: string) => void;

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** The comparisons of one round, from that round's raw samples only. */
function derive(w: Workload, samples: Sample[]): Sample[] {
  const out: Sample[] = [];
  for (const c of w.comparisons ?? []) {
    const of = samples.find((s) => s.figure === c.figure && s.series === c.of);
    const over = samples.find((s) => s.figure === c.figure && s.series === c.over);
    if (!of || !over) continue;
    out.push(
      c.kind === 'ratio'
        ? { figure: c.figure, series: seriesOf(c), value: of.value / over.value, unit: 'x' }
        : { figure: c.figure, series: seriesOf(c), value: of.value - over.value, unit: of.unit },
    );
  }
  return out;
}

export async function runWorkloads(env: BenchEnv, workloads: readonly Workload[], log: Log): Promise<RunOutcome> {
  const values = new Map<string, Map<string, { unit: string; values: number[] }>>();
  const outcome: RunOutcome = { results: {}, targets: [], planned: [], errors: [] };
  const unknown = [...(env.settings.only ?? [])].filter((id) => !workloads.some((w) => w.id === id));
  if (unknown.length) {
    throw new BenchError('AGENTDB_ERR_BENCH_SETTING', `AGENTDB_BENCH_ONLY names no workload ${unknown.join(', ')}; the workloads are ${workloads.map((w) => w.id).join(', ')}`);
  }
  const selected = workloads.filter((w) => !env.settings.only || env.settings.only.has(w.id));
  for (const w of selected) {
    if (w.planned || !w.round) {
      outcome.planned.push({ id: w.id, title: w.title, note: w.planned ?? 'not implemented yet' });
      continue;
    }
    const endpoints: Endpoint[] = w.paths ? env.endpoints.filter((e) => w.paths!.includes(e.path)) : [];
    const started = Date.now();
    try {
      if (w.warmup) await w.warmup(env, endpoints);
      for (let r = 0; r < env.settings.rounds; r++) {
        const raw = await w.round(env, rotate(endpoints, r), r);
        const all = [...raw, ...derive(w, raw)];
        for (const s of all) {
          const figure = values.get(s.figure) ?? new Map();
          values.set(s.figure, figure);
          const series = figure.get(s.series) ?? { unit: s.unit, values: [] };
          figure.set(s.series, series);
          series.values.push(s.value);
        }
        log(`${w.id} round ${r + 1}/${env.settings.rounds}: ${raw.map((s) => `${s.series}${raw.some((o) => o.figure !== s.figure) ? ` ${s.figure}` : ''} ${fmt(s.value)} ${s.unit}`).join(', ')}`);
      }
    } catch (err) {
      const message = `${w.id}: ${(err as Error).message}`;
      outcome.errors.push(message);
      log(`FAILED ${message}`);
    } finally {
      await w.cleanup?.(env).catch((err: Error) => log(`${w.id} cleanup: ${err.message}`));
    }
    log(`${w.id} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  for (const [figure, series] of values) {
    outcome.results[figure] = {};
    for (const [name, s] of series) outcome.results[figure]![name] = summarize(s.values, s.unit);
  }
  for (const w of selected) for (const t of w.targets ?? []) outcome.targets.push(evaluate(t, outcome.results));
  return outcome;
}

function evaluate(t: NonNullable<Workload['targets']>[number], results: Results): TargetResult {
  const measured = results[t.figure]?.[t.series];
  const of = typeof t.target === 'number' ? undefined : results[t.figure]?.[t.target.series]?.median;
  const reference = typeof t.target === 'number' ? t.target : of === undefined ? undefined : of * (t.target.times ?? 1);
  const unit = measured?.unit ?? '';
  if (!measured || reference === undefined) {
    const missing = !measured ? t.series : (t.target as { series: string }).series;
    return { name: t.name, target: reference ?? null, measured: measured?.median ?? null, unit, op: t.op, met: null, note: `no ${missing} figure in this run` };
  }
  const met = t.op === '>=' ? measured.median >= reference : measured.median <= reference;
  return { name: t.name, target: reference, measured: measured.median, unit, op: t.op, met };
}

export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 10) return v.toFixed(2);
  return v.toFixed(3);
}
