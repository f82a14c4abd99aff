// PostgreSQL restarted under the gateway (issue #15 item 3): a PostgreSQL of this file's own (not the suite's
// shared one) is stopped with sessions open, one idle and one inside a statement. Their clients get PostgreSQL's
// 57P01 (or 08006 when the connection just drops) and a closed connection, db.session.end says why, and once
// PostgreSQL is back new sessions work through the same gateway, which was never restarted.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDevCluster, startEmbeddedPostgres, type RunningPostgres } from '../../src/server/index.js';
import type { AuditEvent } from '../../src/audit/index.js';
import { eventually, type TestCluster } from '../helpers/cluster.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert, type CertSpec } from '../helpers/task-certs.js';

const DATABASE = 'faults_restart';
let pgDir: string;
let postgres: RunningPostgres;
let tc: TestCluster;

beforeAll(async () => {
  pgDir = await mkdtemp(path.join(tmpdir(), 'agentdb-faults-pg-'));
  await chmod(pgDir, 0o755);
  postgres = await startEmbeddedPostgres({ dir: pgDir, fast: true });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'agentdb-faults-restart-'));
  const cluster = await startDevCluster({ dataDir, version: 'test', adminUrl: postgres.adminUrl(), databaseName: DATABASE });
  tc = {
    cluster,
    database: DATABASE,
    dataDir,
    newHome: () => Promise.reject(new Error('not used')),
    close: async () => {
      await cluster.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}, 180_000);

afterAll(async () => {
  await tc?.close();
  await postgres?.stop();
  if (pgDir) await rm(pgDir, { recursive: true, force: true });
});

/** A connected client of the gateway whose first error (an ErrorResponse while idle, or the connection lost) is kept. */
async function openSession(reason: string, spec: Partial<CertSpec> = {}): Promise<{ client: pg.Client; firstError: Promise<Error & { code?: string }> }> {
  const cert = await issueTaskCert(tc, await clusterUserCa(tc), { identity: 'alice', reason, ...spec });
  const client = gatewayPgClient(tc, cert);
  const firstError = new Promise<Error & { code?: string }>((resolve) => client.on('error', resolve));
  await client.connect();
  return { client, firstError };
}

async function sessionEvents(reason: string): Promise<{ start: AuditEvent; end?: AuditEvent }> {
  const start = (await tc.cluster.server.audit.search({ type: 'db.session.start', task: reason, limit: 10 })).find((e) => e.task?.reason === reason && !e.result?.error);
  if (!start) throw new Error(`no db.session.start for ${reason}`);
  const [end] = await tc.cluster.server.audit.search({ type: 'db.session.end', sid: start.sid!, limit: 10 });
  return { start, ...(end ? { end } : {}) };
}

describe('PostgreSQL restarted mid-session', () => {
  test('clients get 57P01/08006 and a closed connection; db.session.end says why; new sessions work once it is back', async () => {
    const idle = await openSession('fault restart idle');
    const busy = await openSession('fault restart busy');
    expect((await idle.client.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBeGreaterThan(0);
    const running = busy.client.query('SELECT pg_sleep(60)').then(() => undefined, (e: Error & { code?: string }) => e);

    const port = postgres.port;
    await postgres.stop();

    const inFlight = await running;
    expect(inFlight?.code, inFlight?.message).toMatch(/^(57P01|08006)$/);
    const idleError = await idle.firstError;
    // An idle client hears of it as PostgreSQL's FATAL 57P01, or as the connection ending.
    expect(idleError.code ?? (idleError.message.match(/Connection terminated/) ? '08006' : idleError.message)).toMatch(/^(57P01|08006)$/);
    await expect(idle.client.query('SELECT 1')).rejects.toThrow();

    for (const reason of ['fault restart idle', 'fault restart busy']) {
      const end = await eventually(async () => (await sessionEvents(reason)).end, `db.session.end of ${reason}`);
      expect(end.message, reason).toMatch(/^backend-closed: (57P01|08006) /);
    }

    postgres = await startEmbeddedPostgres({ dir: pgDir, port, fast: true });
    // As the demo agent, whose role masks: the masking's catalog view must reach the new PostgreSQL too.
    const after = await openSession('fault restart after', { identity: 'demo-agent', kind: 'agent', roles: ['demo-agent'], traits: { region: ['us-east'] } });
    expect((await after.client.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBeGreaterThan(0);
    const row = (await after.client.query('SELECT email FROM customers ORDER BY id LIMIT 1')).rows[0] as { email: string };
    expect(row.email).not.toMatch(/^[a-z]+\.[a-z-]+1@example\.com$/);
    await after.client.end();
    const { end } = await eventually(async () => {
      const ev = await sessionEvents('fault restart after');
      return ev.end ? ev : undefined;
    }, 'the end of the session after the restart');
    expect(end!.message ?? '').not.toMatch(/backend-closed/);
    for (const c of [idle.client, busy.client]) await c.end().catch(() => undefined);
  }, 180_000);
});
