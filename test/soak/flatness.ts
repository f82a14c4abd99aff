// "Flat over time", stated as a figure: after the warm-up, the mean of the last third of the samples against
// the mean of the first third. Growth within the bound is a process settling (heap sizing, buffer pools, a
// session count that wanders with the random mix); a leak of a few bytes per statement or a socket per
// session grows past it in minutes.
export interface Flatness {
  /** mean of the first and the last third of the samples after the warm-up */
  first: number;
  last: number;
  /** the largest `last` that still counts as flat */
  bound: number;
  ok: boolean;
}

export interface FlatnessRule {
  /** relative growth allowed, e.g. 0.1 for 10 % */
  ratio: number;
  /** absolute slack on top, in the values' unit */
  slack: number;
}

/** Live heap after a full GC (what a leak of objects or Buffers grows): 10 % + 16 MiB. RSS, which V8 gives back
 *  to the system late if at all: 20 % + 32 MiB. Open files: 5 % + 16 (sessions connect and disconnect at random
 *  moments). */
export const HEAP_RULE: FlatnessRule = { ratio: 0.1, slack: 16 * 1024 * 1024 };
export const RSS_RULE: FlatnessRule = { ratio: 0.2, slack: 32 * 1024 * 1024 };
export const FDS_RULE: FlatnessRule = { ratio: 0.05, slack: 16 };

export function flatness(values: number[], rule: FlatnessRule): Flatness {
  if (values.length < 3) throw new Error(`too few samples after the warm-up to tell (${values.length}); run longer or sample more often`);
  const third = Math.floor(values.length / 3);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(values.slice(0, third));
  const last = mean(values.slice(values.length - third));
  const bound = first * (1 + rule.ratio) + rule.slack;
  return { first, last, bound, ok: last <= bound };
}
