// The bench's rows, in the order they run. One entry per workload; planned ones are listed, not measured.
import { certIssuance } from './workloads/cert-issuance.js';
import { cliStartup } from './workloads/cli-startup.js';
import { connectionSetup } from './workloads/connection-setup.js';
import { idleMemoryWorkload } from './workloads/idle-memory.js';
import { largeResult } from './workloads/large-result.js';
import { pgbenchTpsWorkload } from './workloads/pgbench-tps.js';
import { maskedThroughput, policyDecisionCost } from './workloads/planned.js';
import { statementLatency } from './workloads/statement-latency.js';
import type { Workload } from './workload.js';

export const WORKLOADS: readonly Workload[] = [
  pgbenchTpsWorkload('simple'),
  pgbenchTpsWorkload('prepared'),
  statementLatency,
  largeResult,
  connectionSetup,
  idleMemoryWorkload(),
  certIssuance,
  cliStartup,
  policyDecisionCost,
  maskedThroughput,
];
