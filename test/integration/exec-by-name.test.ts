// EXECUTE and FETCH run what the session's PREPARE or DECLARE of that name made, as PostgreSQL has it: found in
// review, a name whose PREPARE PostgreSQL refused, or that a failed DEALLOCATE kept, must still be decided and
// masked as what it runs. Through the gateway as the demo agent, masking on.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { clusterUserCa, gatewayPgClient, issueTaskCert } from '../helpers/task-certs.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import type { CertificateAuthority } from '../../src/ca/index.js';

let tc: TestCluster;
let userCa: CertificateAuthority;
let admin: pg.Client;
let ssns: string[] = [];

beforeAll(async () => {
  tc = await startTestCluster('execbyname', (config) => {
    const agent = config.roles['demo-agent']!;
    // What this is about: EXECUTE and FETCH; the role may run them (kind execute), so only the gateway's
    // own tracking of names stands between a name and what it runs.
    agent.rules = [{ name: 'names', action: 'allow', match: { kinds: ['execute', 'deallocate', 'cursor', 'transaction', 'select'], reads: ['public.customers', 'pg_catalog.*'] } }, ...agent.rules];
  });
  userCa = await clusterUserCa(tc);
  admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  ssns = (await admin.query<{ ssn: string }>('SELECT ssn FROM customers ORDER BY id LIMIT 3')).rows.map((r) => r.ssn);
});
afterAll(async () => {
  await admin?.end();
  await tc?.close();
});

async function agent(): Promise<pg.Client> {
  const cert = await issueTaskCert(tc, userCa, { identity: 'demo-agent', kind: 'agent', roles: ['demo-agent'], traits: { region: ['us-east'] } });
  const c = gatewayPgClient(tc, cert, { user: 'app_rw' });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const leaked = (rows: unknown[]) => JSON.stringify(rows).match(new RegExp(ssns.map((s) => s.replace(/[-]/g, '\\-')).join('|'), 'g')) ?? [];

async function attempt(c: pg.Client, sql: string): Promise<unknown[]> {
  try {
    const r = await c.query(sql);
    return (Array.isArray(r) ? r : [r]).flatMap((x) => x.rows ?? []);
  } catch {
    return [];
  }
}

describe('names whose statement PostgreSQL did not take', () => {
  test('a PREPARE PostgreSQL refuses (name taken) does not change what EXECUTE is masked as', async () => {
    const c = await agent();
    try {
      await c.query("PREPARE zp AS SELECT ssn || '' AS x FROM customers ORDER BY id LIMIT 3");
      await expect(c.query("PREPARE zp AS SELECT 'hello'::text AS x")).rejects.toMatchObject({ code: '42P05' });
      const rows = await attempt(c, 'EXECUTE zp');
      expect(rows.length).toBe(3);
      expect(leaked(rows)).toEqual([]);
    } finally {
      await c.end();
    }
  });

  test('a PREPARE in a string the gateway refuses never ran, so the old statement stays what EXECUTE runs', async () => {
    const c = await agent();
    try {
      await c.query("PREPARE zq AS SELECT ssn || '' AS x FROM customers ORDER BY id LIMIT 3");
      await expect(c.query("PREPARE zq2 AS SELECT 'hello'::text AS x; SELECT pg_sleep(0)")).rejects.toMatchObject({ code: '42501' });
      expect(leaked(await attempt(c, 'EXECUTE zq'))).toEqual([]);
    } finally {
      await c.end();
    }
  });

  test('a cursor declared again under a name PostgreSQL keeps is fetched masked', async () => {
    const c = await agent();
    try {
      await c.query("DECLARE zd CURSOR WITH HOLD FOR SELECT ssn || '' AS x FROM customers ORDER BY id LIMIT 3");
      await expect(c.query("DECLARE zd CURSOR WITH HOLD FOR SELECT 'hello'::text AS x")).rejects.toMatchObject({ code: '42P03' });
      const rows = await attempt(c, 'FETCH ALL FROM zd');
      expect(rows.length).toBe(3);
      expect(leaked(rows)).toEqual([]);
    } finally {
      await c.end();
    }
  });

  test('a DEALLOCATE that failed keeps the name known; a name the gateway never saw prepared is refused', async () => {
    const c = await agent();
    try {
      await c.query("PREPARE zt AS SELECT ssn || '' AS x FROM customers ORDER BY id LIMIT 3");
      await c.query('BEGIN');
      await expect(c.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
      await expect(c.query('DEALLOCATE zt')).rejects.toMatchObject({ code: '25P02' });
      await c.query('ROLLBACK');
      const rows = await attempt(c, 'EXECUTE zt');
      expect(rows.length).toBe(3);
      expect(leaked(rows)).toEqual([]);
      await c.query('DEALLOCATE zt');
      await expect(c.query('EXECUTE zt')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/was not prepared in this session/) });
      await expect(c.query('EXECUTE never_prepared')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.end();
    }
  });
});
