// Child process: the agentdb server (control plane + gateway + built-in IdP, as `agentdb server --dev` wires
// them) on the soak's own PostgreSQL, in a process of its own so that its RSS and open files are its own.
// Node runs this file directly (type stripping), so it loads the server from dist/ (`npm run build`).
//
// The policy is the demo's, as shipped, with what a soak needs and nothing taken away: one rule that lets the
// demo agent read and write the soak's two tables, a data budget that a long run cannot spend (still counted
// on every row), a review timeout longer than the soak's reviewer takes, and the admission caps and rates
// raised for one address that stands for a thousand clients (the caps are per source address; here every
// client is 127.0.0.1).
//
// argv[2]: JSON {adminUrl, databaseName, dataDir, sessions}. Messages from the parent: {type: 'audit-count',
// reasons} is answered with {type: 'audit-count', counts: {task reason: {event type: n}}}, read from the store
// after the audit log is flushed; {type: 'memory'} is answered as in the bench (child-memory.ts: after a full
// garbage collection); {type: 'close'} ends the process.
import { sendToParent, serveClusterInChild } from '../bench/cluster-child.ts';

type Config = import('../../src/server/index.js').Config;
type DevCluster = import('../../src/server/index.js').DevCluster;

export interface SoakServerOptions {
  adminUrl: string;
  databaseName: string;
  dataDir: string;
  /** concurrent sessions the soak holds: the admission caps are set above them */
  sessions: number;
}

/** The soak's tables, which the demo agent's extra rule names (the driver creates them). */
const SOAK_TABLES = ['public.soak_writes', 'public.soak_writes_id_seq', 'public.soak_held'];

const options = JSON.parse(process.argv[2] ?? '{}') as SoakServerOptions;

function soakConfig(config: Config): void {
  const agent = config.roles['demo-agent'];
  if (!agent) throw new Error('the dev cluster has no demo-agent role');
  agent.rules = [...agent.rules, { name: 'soak-tables', action: 'allow', match: { kinds: ['select', 'insert', 'update'], reads: SOAK_TABLES, writes: SOAK_TABLES } }];
  agent.budget = { rows: 1e15, bytes: 1e15 };
  agent.review = { ...(agent.review ?? { databases: [] }), timeout: '2m' };
  const lots = Math.max(1000, 4 * options.sessions);
  config.limits.gateway.unauthenticated = { ...config.limits.gateway.unauthenticated, total: lots, perAddress: lots };
  const unlimited = { burst: 1_000_000_000, perMinute: 1_000_000_000 };
  config.limits.rates.certs = { perAddress: unlimited, perIdentity: unlimited };
  config.limits.rates.tokenLogins = { perAddress: unlimited };
}

async function countAudit(cluster: DevCluster, reasons: string[]): Promise<Record<string, Record<string, number>>> {
  await cluster.server.audit.flush();
  const counts: Record<string, Record<string, number>> = Object.fromEntries(reasons.map((r) => [r, {}]));
  for await (const r of cluster.server.store.scanAudit()) {
    const byType = r.taskReason !== undefined ? counts[r.taskReason] : undefined;
    if (!byType) continue;
    // A login the gateway could not complete (the backend did not answer) is a db.session.start with an error,
    // and has no db.session.end: counted apart.
    const failed = r.type === 'db.session.start' && (JSON.parse(r.json) as { result?: { error?: unknown } }).result?.error !== undefined;
    const type = failed ? 'db.session.start (failed)' : r.type;
    byType[type] = (byType[type] ?? 0) + 1;
  }
  return counts;
}

await serveClusterInChild({
  adminUrl: options.adminUrl,
  databaseName: options.databaseName,
  dataDir: options.dataDir,
  version: 'soak',
  configure: soakConfig,
  onMessage: (msg, cluster) => {
    if (msg.type !== 'audit-count') return;
    countAudit(cluster, (msg.reasons as string[] | undefined) ?? []).then(
      (counts) => sendToParent({ type: 'audit-count', counts }),
      (err: Error) => sendToParent({ type: 'audit-count', error: err.message }),
    );
  },
});
