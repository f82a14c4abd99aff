// `agentdb server --dev` and `agentdb demo`: a real PostgreSQL, a real OpenID provider and the server, wired
// together on loopback, with a `dev.json` (0600) that tells scripts and tests how to log in without a person.
import { createHmac, randomBytes } from 'node:crypto';
import { writeFile, mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startDevIdp, type DevIdp, type DevIdpClient } from '../../identity/dev-idp/index.js';
import { configSchema, type Config } from '../config.js';
import { startServer, type RunningServer } from '../services.js';
import { DEMO_AGENT_GROUP, demoRoles } from './demo-roles.js';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';
import { loadSampleData } from './sample-data.js';

export interface DevClusterOptions {
  dataDir: string;
  version: string;
  /** 0 picks free ports (tests); the demo uses fixed ones so the printed commands stay the same */
  ports?: { api?: number; gateway?: number; idp?: number; postgres?: number };
  /** an existing PostgreSQL to use instead of starting one (tests share one per run) */
  adminUrl?: string;
  /** database name to create and fill; several test clusters can share one PostgreSQL */
  databaseName?: string;
  fast?: boolean;
  log?: boolean;
  /** the demo agent logs in as a database user provisioned for it (`agentdb demo`, `--dev`); default: the shared app_rw */
  provisionAgent?: boolean;
  /** adjusts the generated config before the server starts (tests: shorter review timeouts, a webhook) */
  configure?: (config: Config) => void;
}

export interface DevInfo {
  server: string;
  caFile: string;
  issuer: string;
  gateway: { host: string; port: number };
  users: { name: string; password: string; roles: string[] }[];
  clients: { id: string; secret: string; identity: string; roles: string[] }[];
  databases: { name: string; adminUrl: string }[];
}

export interface DevCluster {
  info: DevInfo;
  server: RunningServer;
  devFile: string;
  close(): Promise<void>;
}

const secret = () => randomBytes(18).toString('base64url');

/**
 * The password the gateway uses for a database user, derived from the superuser password it already holds.
 * Derived rather than random so that several dev clusters sharing one PostgreSQL (the test suite) agree on it
 * instead of resetting each other's credential.
 */
export function devDatabasePassword(adminUrl: string, role: string): string {
  const superuserPassword = decodeURIComponent(new URL(adminUrl).password);
  return createHmac('sha256', superuserPassword).update(`agentdb dev database user ${role}`).digest('base64url');
}

/** The admin that provisions database users (CREATEROLE; README "Provisioned database users"). */
export const DEV_PROVISIONING_ADMIN = 'agentdb_admin';

/**
 * The database users the gateway logs in as, and what each may do in PostgreSQL itself. The demo agent's
 * provisioned users get DEMO_AGENT_GROUP: every customers column but ssn (PostgreSQL refuses it, 42501, even if
 * the gateway's masking were off: no agent task needs an SSN, even redacted; email, phone and card number stay
 * readable, masked by the gateway, because their domain and last digits are useful), orders to read, insert and
 * update (no DELETE, no DDL: what the gateway's rules allow, and no more), within the row-level security on
 * orders that sample-data.ts sets up.
 */
async function prepareDatabase(adminUrl: string, database: string, passwords: Record<'app_rw' | 'app_ro' | typeof DEV_PROVISIONING_ADMIN, string>): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // Clusters sharing one PostgreSQL (the test suite) set up roles one at a time.
    await admin.query('SELECT pg_advisory_lock(7432)');
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
    for (const [role, password] of Object.entries(passwords)) {
      const r = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const verb = r.rowCount === 0 ? 'CREATE' : 'ALTER';
      await admin.query(`${verb} ROLE ${role} LOGIN ${role === DEV_PROVISIONING_ADMIN ? 'CREATEROLE ' : ''}PASSWORD ${admin.escapeLiteral(password)}`);
    }
    const group = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [DEMO_AGENT_GROUP]);
    if (group.rowCount === 0) await admin.query(`CREATE ROLE ${DEMO_AGENT_GROUP} NOLOGIN`);
    // The admin grants the group to the users it makes, and ends their backends on a lock.
    await admin.query(`GRANT ${DEMO_AGENT_GROUP} TO ${DEV_PROVISIONING_ADMIN} WITH ADMIN OPTION; GRANT pg_signal_backend TO ${DEV_PROVISIONING_ADMIN}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  try {
    await loadSampleData(db);
    await db.query(`
      GRANT CONNECT ON DATABASE ${db.escapeIdentifier(database)} TO app_rw, app_ro;
      GRANT USAGE ON SCHEMA public TO app_rw, app_ro;
      GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_rw, app_ro;
      GRANT INSERT, UPDATE, DELETE ON orders TO app_rw;
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO app_rw;
      GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO app_ro;
      GRANT CREATE ON SCHEMA public TO app_rw;
      GRANT CONNECT ON DATABASE ${db.escapeIdentifier(database)} TO ${DEMO_AGENT_GROUP};
      GRANT USAGE ON SCHEMA public TO ${DEMO_AGENT_GROUP};
      GRANT SELECT (id, name, email, phone, card_number, region) ON customers TO ${DEMO_AGENT_GROUP};
      GRANT SELECT, INSERT, UPDATE ON orders TO ${DEMO_AGENT_GROUP};
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${DEMO_AGENT_GROUP};`);
  } finally {
    await db.end();
  }
}

export async function startDevCluster(opts: DevClusterOptions): Promise<DevCluster> {
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const ports = opts.ports ?? {};
  const database = opts.databaseName ?? 'customers';
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    let pgServer: RunningPostgres | undefined;
    let adminUrl = opts.adminUrl;
    if (!adminUrl) {
      pgServer = await startEmbeddedPostgres({ dir: path.join(dataDir, 'postgres'), port: ports.postgres ?? 0, fast: !!opts.fast });
      closers.push(() => pgServer!.stop());
      adminUrl = pgServer.adminUrl();
    }
    const dbPasswords = {
      app_rw: devDatabasePassword(adminUrl, 'app_rw'),
      app_ro: devDatabasePassword(adminUrl, 'app_ro'),
      [DEV_PROVISIONING_ADMIN]: devDatabasePassword(adminUrl, DEV_PROVISIONING_ADMIN),
    } as Record<'app_rw' | 'app_ro' | typeof DEV_PROVISIONING_ADMIN, string>;
    await prepareDatabase(adminUrl, database, dbPasswords);
    const pgUrl = new URL(adminUrl);

    const users = [{ name: 'alice', password: secret(), email: 'alice@example.com', groups: ['support', 'reviewers'], traits: { region: 'eu' } }];
    const clients: DevIdpClient[] = [
      { id: 'demo-agent', secret: secret(), groups: ['agents'], traits: { region: 'us-east' } },
      { id: 'demo-reviewer', secret: secret(), groups: ['reviewers'], traits: {} },
    ];
    const controlPlaneClient = { id: 'agentdb', secret: secret() };
    const idp: DevIdp = await startDevIdp({
      port: ports.idp ?? 0,
      users,
      clients,
      controlPlaneClient,
      audience: 'urn:agentdb:dev',
      keyFile: path.join(dataDir, 'dev-idp-keys.json'),
    });
    closers.push(() => idp.close());

    const config: Config = configSchema.parse({
      cluster: 'agentdb-dev',
      api: { listen: `127.0.0.1:${ports.api ?? 0}` },
      gateway: { listen: `127.0.0.1:${ports.gateway ?? 0}` },
      auth: {
        oidc: { issuer: idp.issuer, clientId: controlPlaneClient.id, clientSecret: controlPlaneClient.secret, audience: 'urn:agentdb:dev' },
        traitClaims: { region: 'region' },
        bindings: [
          { match: { claim: 'groups', values: ['support'] }, kind: 'human', roles: ['support'] },
          { match: { claim: 'client_id', values: ['demo-agent'] }, kind: 'agent', roles: ['demo-agent'] },
          { match: { claim: 'client_id', values: ['demo-reviewer'] }, kind: 'bot', roles: ['reviewer'] },
        ],
      },
      roles: demoRoles(database, !!opts.provisionAgent),
      databases: {
        customers: {
          host: pgUrl.hostname,
          port: Number(pgUrl.port),
          credentials: { app_rw: { password: dbPasswords.app_rw }, app_ro: { password: dbPasswords.app_ro } },
          // Scoped by database: test clusters sharing one PostgreSQL never clean up each other's provisioned users.
          admin: { user: DEV_PROVISIONING_ADMIN, password: dbPasswords[DEV_PROVISIONING_ADMIN], database: pgUrl.pathname.slice(1) || 'postgres', scope: `agentdb-dev/${database}` },
        },
      },
    });
    opts.configure?.(config);
    const server = await startServer(config, { dataDir, version: opts.version, log: !!opts.log });
    closers.push(() => server.close());

    const info: DevInfo = {
      server: server.apiUrl,
      caFile: server.caFile,
      issuer: idp.issuer,
      gateway: server.gateway,
      users: users.map((u) => ({ name: u.name, password: u.password, roles: ['support'] })),
      clients: [
        { id: 'demo-agent', secret: clients[0]!.secret, identity: 'demo-agent', roles: ['demo-agent'] },
        { id: 'demo-reviewer', secret: clients[1]!.secret, identity: 'demo-reviewer', roles: ['reviewer'] },
      ],
      databases: [{ name: 'customers', adminUrl: (() => { const u = new URL(adminUrl); u.pathname = `/${database}`; return u.toString(); })() }],
    };
    const devFile = path.join(dataDir, 'dev.json');
    await writeFile(devFile, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
    await chmod(devFile, 0o600);
    return { info, server, devFile, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
