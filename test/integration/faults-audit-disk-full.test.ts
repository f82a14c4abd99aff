// The audit store's disk full (issue #15 item 3): the server's data dir (audit journal and SQLite store) on a
// small tmpfs filled by a ballast file. A statement then cannot be audited, so it is refused with 53100
// disk_full and does not run in PostgreSQL; once the ballast is gone a new session's statement runs and is
// audited, and `agentdb audit verify` passes: the chain went on from the last event that was written.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { AuditError } from '../../src/audit/index.js';
import { startDevCluster } from '../../src/server/index.js';
import { agentdb, eventually, loginAlice, type TestCluster } from '../helpers/cluster.js';
import { cannotMount, mountSmallDisk, type SmallDisk } from '../helpers/full-disk.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert } from '../helpers/task-certs.js';

const unmountable = cannotMount();
const DATABASE = `faults_disk_full_${process.pid}`;
let disk: SmallDisk;
let tc: TestCluster;
let su: pg.Client;
const homes: string[] = [];

beforeAll(async () => {
  if (unmountable) return;
  disk = mountSmallDisk(16);
  const dataDir = path.join(disk.dir, 'server');
  const cluster = await startDevCluster({ dataDir, version: 'test', adminUrl: inject('pgAdminUrl'), databaseName: DATABASE });
  tc = {
    cluster,
    database: DATABASE,
    dataDir,
    async newHome() {
      const h = await mkdtemp(path.join(tmpdir(), 'agentdb-home-faults-disk-'));
      homes.push(h);
      return h;
    },
    close: () => cluster.close(),
  };
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = `/${DATABASE}`;
  su = new pg.Client({ connectionString: url.toString() });
  await su.connect();
}, 180_000);

afterAll(async () => {
  await su?.end();
  await tc?.close();
  disk?.unmount();
  for (const h of homes) await rm(h, { recursive: true, force: true });
});

async function session(reason: string): Promise<pg.Client> {
  const cert = await issueTaskCert(tc, await clusterUserCa(tc), { identity: 'alice', reason });
  const c = gatewayPgClient(tc, cert);
  await c.connect();
  return c;
}

const insertOrder = (status: string) => `INSERT INTO orders (customer_id, region, amount, status) VALUES (1, 'eu', 1.00, '${status}')`;
const stored = async (status: string) => Number((await su.query('SELECT count(*) AS n FROM orders WHERE status = $1', [status])).rows[0].n);

describe('AuditError carries the SQLSTATE of a write failure', () => {
  test.each([
    ['ENOSPC', '53100'],
    ['EDQUOT', '53100'],
    ['EIO', '58030'],
    ['EACCES', '58030'],
  ])('a cause with errno %s is %s', (errno, sqlState) => {
    const cause = Object.assign(new Error(`${errno}: write`), { code: errno });
    expect(new AuditError('AGENTDB_ERR_AUDIT_WRITE_FAILED', 'the audit log could not be written', { cause }).sqlState).toBe(sqlState);
  });
  test("SQLite's SQLITE_FULL and a PostgreSQL store's own 53100 are disk_full; other codes have none", () => {
    const sqliteFull = Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13 });
    expect(new AuditError('AGENTDB_ERR_AUDIT_WRITE_FAILED', 'x', { cause: new Error('wrapped', { cause: sqliteFull }) }).sqlState).toBe('53100');
    expect(new AuditError('AGENTDB_ERR_AUDIT_WRITE_FAILED', 'x', { cause: Object.assign(new Error('could not extend file'), { code: '53100' }) }).sqlState).toBe('53100');
    expect(new AuditError('AGENTDB_ERR_AUDIT_READ_FAILED', 'x', { cause: Object.assign(new Error('full'), { code: 'ENOSPC' }) }).sqlState).toBeUndefined();
  });
});

describe.skipIf(!!unmountable)(`the audit store's disk full${unmountable ? ` (skipped: ${unmountable})` : ''}`, () => {
  test('a statement is refused with 53100 and not run; after the space returns a new session runs and is audited; verify passes', async () => {
    const alice = await tc.newHome();
    await loginAlice(tc, alice);
    const before = await session('fault disk full');
    expect((await before.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    // Everything is in the store and the journal is empty: the next audit write needs a new block of the disk.
    await tc.cluster.server.audit.flush();

    expect(disk.fill()).toBeGreaterThan(0);
    expect(disk.available()).toBe(0);
    const refused = await before.query(insertOrder('fault-disk-full')).then(() => undefined, (e: Error & { code?: string }) => e);
    expect(refused, 'the statement was refused').toBeInstanceOf(Error);
    expect(refused?.code, refused?.message).toBe('53100');
    expect(refused?.message).toMatch(/^audit log unavailable: statement not executed \(.*ENOSPC/);
    expect(await stored('fault-disk-full'), 'the refused INSERT did not run in PostgreSQL').toBe(0);
    // The session ended: nothing more runs on it unaudited.
    await expect(before.query('SELECT 1')).rejects.toThrow();

    disk.free();
    expect(disk.available()).toBeGreaterThan(0);
    await before.end().catch(() => undefined);
    const after = await session('fault disk full after');
    await after.query(insertOrder('fault-disk-full-after'));
    expect(await stored('fault-disk-full-after')).toBe(1);
    await after.end();
    const audited = await tc.cluster.server.audit.search({ type: 'db.session.query', query: 'fault-disk-full-after', limit: 10 });
    expect(audited.map((e) => e.statement?.sql)).toEqual([insertOrder('fault-disk-full-after')]);
    expect(await tc.cluster.server.audit.search({ type: 'db.session.query', query: "'fault-disk-full'", limit: 10 })).toEqual([]);

    // The refused session's end could not be written while the disk was full; the gateway wrote it again once it could.
    const [refusedStart] = (await tc.cluster.server.audit.search({ type: 'db.session.start', task: 'fault disk full', limit: 10 })).filter((e) => e.task?.reason === 'fault disk full');
    const refusedEnd = await eventually(async () => (await tc.cluster.server.audit.search({ type: 'db.session.end', sid: refusedStart!.sid!, limit: 10 }))[0], 'the refused session\'s db.session.end');
    expect(refusedEnd.message).toBe('audit-unavailable');
    const verify = await agentdb(alice, ['audit', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 180_000);
});
