// What a workload is to the runner. Adding a row to the bench is adding one entry to registry.ts: a workload
// measures raw figures per path in one round; the comparisons (ratios, added latency) are derived per round,
// side by side, so that a noisy machine moves both sides of a ratio together.
import type { BenchEnv } from './environment.js';
import type { Endpoint, PathName } from './paths.js';

/** One measured figure of one round: `series` is a path ('gateway') or what is measured ('control plane'). */
export interface Sample {
  figure: string;
  series: string;
  value: number;
  unit: string;
}

/**
 * `of` compared with `over` in the same round: a ratio (of/over, unit x) or what `of` adds (of-over). Both are
 * series of the figure: usually paths, or a share ('full: proxy') or a path measured another way ('pipe @
 * gateway rate').
 */
export interface Comparison {
  figure: string;
  of: string;
  over: string;
  kind: 'ratio' | 'added';
}

export interface Target {
  name: string;
  figure: string;
  series: string;
  op: '>=' | '<=';
  /** a fixed number, or another series of the same figure (its median, `times` that when given) */
  target: number | { series: string; times?: number };
}

export interface Workload {
  /** key for AGENTDB_BENCH_ONLY; also the figure name when a workload has one figure */
  id: string;
  title: string;
  /** a row others will fill in: listed in the report as not yet measured */
  planned?: string;
  /** the paths it compares; a workload without paths measures the server alone */
  paths?: readonly PathName[];
  /** untimed: brings every path to a steady state (caches, JIT) before the first round */
  warmup?(env: BenchEnv, endpoints: Endpoint[]): Promise<void>;
  /** one round: every path once, in the order given (it rotates from round to round) */
  round?(env: BenchEnv, endpoints: Endpoint[], round: number): Promise<Sample[]>;
  /** releases what the workload set up for itself, after its last round (or its failure) */
  cleanup?(env: BenchEnv): Promise<void>;
  comparisons?: Comparison[];
  targets?: Target[];
}

export const seriesOf = (c: Comparison): string => (c.kind === 'ratio' ? `${c.of}/${c.over}` : `${c.of}-${c.over}`);

/** Every comparison of `figure` of each listed path over `over`. */
export function compareAll(figure: string, kind: Comparison['kind'], over: PathName, of: readonly PathName[]): Comparison[] {
  return of.filter((p) => p !== over).map((p) => ({ figure, of: p, over, kind }));
}
