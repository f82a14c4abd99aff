// Child process: the agentdb server (control plane + gateway + built-in IdP, as `agentdb server --dev` wires
// them) on the bench's PostgreSQL. A process of its own so that the gateway has a core's event loop to
// itself rather than sharing the bench's, and so its RSS is its own. Node runs this file directly (type
// stripping), so it loads the server from the build in dist/, which `npm run bench` makes first.
//
// The policy is the demo's, as shipped (`demoRoles`: the agent-safe defaults and the demo agent's statement
// rules, forced session settings, data budget), with two changes so the bench's own tables can be read at
// all: one more allow rule naming them, and a data budget too large to run out during a run (it is still
// counted on every row, as in production).
//
// argv[2]: JSON {adminUrl, databaseName, dataDir, role, tables}. Messages from the parent: {type: 'memory'} is answered
// with {type: 'memory', rss, heapUsed} after a full garbage collection; {type: 'close'} ends the process.
import { serveClusterInChild } from './cluster-child.ts';

type Config = import('../../src/server/index.js').Config;

interface ChildOptions {
  adminUrl: string;
  databaseName: string;
  dataDir: string;
  /** the role the bench's client logs in with */
  role: string;
  /** relations the bench reads, schema-qualified */
  tables: string[];
  /** columns the role masks on top of the demo's */
  maskedColumns?: Record<string, unknown>;
}

const BUDGET_NEVER_REACHED = 1e15;

function allowBenchTables(config: Config): void {
  const role = config.roles[options.role];
  if (!role) throw new Error(`the dev cluster's config has no role "${options.role}" to run the bench as`);
  role.rules = [...role.rules, { name: 'bench-tables', action: 'allow', match: { kinds: ['select'], reads: options.tables } }];
  if (options.maskedColumns && role.masking) {
    const m = role.masking as { columns?: Record<string, unknown> };
    role.masking = { ...m, columns: { ...(m.columns ?? {}), ...options.maskedColumns } };
  }
  if (role.budget) role.budget = { ...(role.budget.rows ? { rows: BUDGET_NEVER_REACHED } : {}), ...(role.budget.bytes ? { bytes: BUDGET_NEVER_REACHED } : {}) };
  // The certificate workload measures the CA's own throughput, not the issuance rate limit (README "Limits").
  const unlimited = { burst: 1_000_000_000, perMinute: 1_000_000_000 };
  config.limits.rates.certs = { perAddress: unlimited, perIdentity: unlimited };
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;

await serveClusterInChild({
  adminUrl: options.adminUrl,
  databaseName: options.databaseName,
  dataDir: options.dataDir,
  version: 'bench',
  configure: allowBenchTables,
  readyExtra: (cluster) => ({ devFile: cluster.devFile }),
});
