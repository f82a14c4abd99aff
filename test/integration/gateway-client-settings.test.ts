// What drivers and dump tools set first thing, through the gateway as the demo agent: application_name is
// kept next to the session's tag (pgjdbc's SET application_name, a startup parameter), and a SET of a setting
// the role forces (pg_dump's SET statement_timeout = 0) is answered as done with a WARNING while the forced
// value stays. Both are audited as the client sent them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { clusterUserCa, gatewayPgClient, issueTaskCert } from '../helpers/task-certs.js';
import { agentdb, loginAlice, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import type { CertificateAuthority } from '../../src/ca/index.js';
import type { AuditEvent } from '../../src/audit/index.js';

let tc: TestCluster;
let userCa: CertificateAuthority;
let aliceHome: string;
let admin: pg.Client;

beforeAll(async () => {
  tc = await startTestCluster('clientsettings');
  userCa = await clusterUserCa(tc);
  aliceHome = await tc.newHome();
  await loginAlice(tc, aliceHome);
  admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await tc?.close();
});

async function agentClient(task: string, extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const cert = await issueTaskCert(tc, userCa, { identity: 'demo-agent', kind: 'agent', roles: ['demo-agent'], traits: { region: ['us-east'] }, reason: task });
  const c = gatewayPgClient(tc, cert, extra);
  await c.connect();
  return c;
}

async function activityOf(pid: number): Promise<string> {
  const r = await admin.query<{ application_name: string }>('SELECT application_name FROM pg_stat_activity WHERE pid = $1', [pid]);
  return r.rows[0]!.application_name;
}

async function events(task: string): Promise<AuditEvent[]> {
  const r = await agentdb(aliceHome, ['audit', 'search', '--task', task, '--type', 'db.session.query', '--limit', '100', '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
}

describe('application_name', () => {
  test('a startup application_name is kept in front of the tag', async () => {
    const c = await agentClient('app name at startup', { application_name: 'my-etl' });
    try {
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(await activityOf(pid)).toMatch(/^my-etl \[agentdb [0-9a-f-]{36}\]$/);
    } finally {
      await c.end();
    }
  });

  test('SET application_name (as pgjdbc sends it, simple and extended) keeps the tag; the tag cannot be pushed out', async () => {
    const c = await agentClient('app name by SET');
    try {
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const untagged = await activityOf(pid);
      expect(untagged).toMatch(/^agentdb [0-9a-f-]{36} demo-agent$/);
      await c.query("SET application_name = 'PostgreSQL JDBC Driver'");
      const tagged = await activityOf(pid);
      const sid = untagged.split(' ')[1]!;
      expect(tagged).toBe(`PostgreSQL JDBC [agentdb ${sid}]`);
      // extended protocol, a named statement
      await c.query({ name: 'setapp', text: "SET application_name TO 'x [agentdb 00000000-0000-0000-0000-000000000000 alice]'" });
      const spoof = await activityOf(pid);
      expect(spoof).toBe(`x [agentdb 00000 [agentdb ${sid}]`);
      expect(Buffer.byteLength(spoof)).toBeLessThanOrEqual(63);
      const shown = (await c.query<{ application_name: string }>('SHOW application_name')).rows[0]!.application_name;
      expect(shown).toBe(spoof);
      // set_config inside a SELECT is still refused (its result would show the value the gateway did not set)
      await expect(c.query("SELECT set_config('application_name', 'x', false)")).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.end();
    }
    const audited = (await events('app name by SET')).filter((e) => e.statement?.rule === 'application-name');
    expect(audited.map((e) => e.statement!.sql)).toEqual(["SET application_name = 'PostgreSQL JDBC Driver'", "SET application_name TO 'x [agentdb 00000000-0000-0000-0000-000000000000 alice]'"]);
  });
});

describe('settings the role forces', () => {
  test('SET statement_timeout = 0 answers SET with a WARNING; the forced value stays', async () => {
    const c = await agentClient('forced settings');
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(`${n.severity} ${n.code} ${n.message}`));
    try {
      const before = (await c.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout;
      expect(before).toBe('30s');
      const r = await c.query('SET statement_timeout = 0');
      expect(r.command).toBe('SET');
      await c.query({ name: 'lt', text: 'SET lock_timeout = 0' });
      await c.query('BEGIN');
      await c.query('SET LOCAL idle_in_transaction_session_timeout = 0');
      await c.query('COMMIT');
      expect((await c.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('30s');
      expect((await c.query('SHOW lock_timeout')).rows[0].lock_timeout).toBe('10s');
      expect((await c.query('SHOW idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout).toBe('1min');
      expect(notices).toHaveLength(3);
      for (const n of notices) expect(n).toMatch(/^WARNING 01000 agentdb: \S+ is set by policy for this session; this SET was ignored/);
      // Other ways of changing them stay refused: the gateway cannot answer them as done.
      await expect(c.query("SELECT set_config('statement_timeout', '0', false)")).rejects.toMatchObject({ code: '42501' });
      await expect(c.query('SET statement_timeout = 0; SELECT 1')).rejects.toMatchObject({ code: '42501' });
      // A search_path the analyzer cannot follow is refused, not ignored.
      await expect(c.query('SET search_path = evil, public')).rejects.toMatchObject({ code: '42501' });
      await c.query("SET search_path = ''");
      await c.query('RESET search_path');
    } finally {
      await c.end();
    }
    const ignored = (await events('forced settings')).filter((e) => e.statement?.rule === 'forced-setting');
    expect(ignored.map((e) => e.statement!.sql)).toEqual(['SET statement_timeout = 0', 'SET lock_timeout = 0', 'SET LOCAL idle_in_transaction_session_timeout = 0']);
    for (const e of ignored) expect(e.message).toMatch(/^ignored: /);
  });
});

describe('a connection pool\'s reset', () => {
  test('DISCARD ALL and RESET ALL are allowed and keep every setting the gateway fixes', async () => {
    const c = await agentClient('pool reset', { client_encoding: 'LATIN1', application_name: 'pool' } as Partial<pg.ClientConfig>);
    try {
      const show = async (name: string) => (await c.query(`SHOW ${name}`)).rows[0][name] as string;
      const fixed = { statement_timeout: '30s', lock_timeout: '10s', client_encoding: 'UTF8', standard_conforming_strings: 'on' };
      for (const [k, v] of Object.entries(fixed)) expect(await show(k), k).toBe(v);
      const region = async () => (await c.query("SELECT current_setting('app.region') AS r")).rows[0].r as string;
      expect(await region()).toBe('us-east');
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const app = await activityOf(pid);
      await c.query("SET search_path = ''");
      await c.query('SET extra_float_digits = 3');
      await c.query('PREPARE p AS SELECT 1');
      expect((await c.query('DISCARD ALL')).command).toBe('DISCARD');
      for (const [k, v] of Object.entries(fixed)) expect(await show(k), k).toBe(v);
      expect(await region()).toBe('us-east');
      expect(await show('extra_float_digits')).toBe('1');
      expect(await activityOf(pid)).toBe(app);
      // DISCARD ALL dropped the prepared statement, and the gateway forgot its name with it.
      await expect(c.query('EXECUTE p')).rejects.toMatchObject({ code: expect.stringMatching(/^(26000|42501)$/) });
      await c.query('SET extra_float_digits = 2');
      expect((await c.query('RESET ALL')).command).toBe('RESET');
      for (const [k, v] of Object.entries(fixed)) expect(await show(k), k).toBe(v);
      expect(await region()).toBe('us-east');
    } finally {
      await c.end();
    }
  });
});
