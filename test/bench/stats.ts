// Order statistics over a handful of rounds or many latency samples.
export interface Summary {
  median: number;
  min: number;
  max: number;
  unit: string;
}

/** The p-th percentile (0..100) by nearest rank on a sorted copy; the median of an even count is the mean of the middle two. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  if (p === 50 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export function summarize(values: readonly number[], unit: string): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), unit };
}
