// Rows others will fill in. Each is listed in the report as not yet measured; giving it `paths`, `round`,
// `comparisons` and `targets` (see workload.ts) is all it takes to measure it.
import type { Workload } from '../workload.js';

export const policyDecisionCost: Workload = {
  id: 'policy-decision',
  title: 'policy decision cost (µs, cached / uncached)',
  planned: 'not measured yet: per-statement decision time with a warm and a cold parse cache',
};

export const maskedThroughput: Workload = {
  id: 'masked-throughput',
  title: '1,000,000 rows with two masked columns (ratio to direct)',
  planned: 'not measured yet: like large-result, through a role that masks two of the columns',
};
