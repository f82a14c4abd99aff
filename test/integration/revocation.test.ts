// Revocation reaches open sessions: ending a login (agentdb logout) ends, within a second, the gateway sessions
// its certificates opened — and only those — with a FATAL error and a db.session.end event that says why.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import type { AuditEvent } from '../../src/audit/index.js';
import { eventually, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { apiClient, gatewayClient, loginClient, requestCert, type ApiClient } from '../helpers/api-session.js';

let tc: TestCluster;
let api: ApiClient;

beforeAll(async () => {
  tc = await startTestCluster('revocation');
  api = await apiClient(tc);
});
afterAll(async () => {
  await api?.close();
  await tc?.close();
});

interface Ended {
  err: Error & { code?: string };
  at: number;
}

/** An open session through the gateway, and a promise of the error that ends it. */
async function openSession(token: string, task: string): Promise<{ client: pg.Client; ended: Promise<Ended>; taskId: string }> {
  const cert = await requestCert(tc, api, token, { db: 'customers', task });
  const client = gatewayClient(tc, cert);
  const ended = new Promise<Ended>((resolve) => client.on('error', (err) => resolve({ err, at: Date.now() })));
  await client.connect();
  expect((await client.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBeGreaterThan(0);
  return { client, ended, taskId: cert.task.id };
}

async function sessionEnd(taskId: string): Promise<AuditEvent> {
  return eventually(async () => (await tc.cluster.server.audit.search({ task: taskId, type: 'db.session.end', limit: 10 }))[0], `db.session.end of ${taskId}`);
}

/** `p`, or a failure once `ms` have passed: the deadline the behaviour promises, not a performance figure. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('logout', () => {
  test('ends the open sessions of that login within a second, and leaves another login of the same identity alone', async () => {
    const gone = await loginClient(tc, api);
    const stays = await loginClient(tc, api);
    const a = await openSession(gone, 'revoked by logout');
    const b = await openSession(stays, 'another login, untouched');

    const r = await api.call('POST', '/v1/logout', { token: gone });
    expect(r.status).toBe(200);
    const loggedOut = Date.now();
    const { err, at } = await within(a.ended, 1000, 'the end of the session after logout');
    expect(at - loggedOut).toBeLessThanOrEqual(1000);
    expect(err.code).toBe('28000');
    expect(err.message).toMatch(/login behind this session was ended/);

    const end = await sessionEnd(a.taskId);
    expect(end.identity?.name).toBe('demo-agent');
    expect(end.message).toMatch(/login behind this session was ended/);

    // The other login's session keeps running queries.
    expect((await b.client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await b.client.end();
    expect((await sessionEnd(b.taskId)).message).toBe('client disconnected');
  });

  test('a certificate of the ended login opens no new session, and the login gets no new certificate', async () => {
    const token = await loginClient(tc, api);
    const cert = await requestCert(tc, api, token, { db: 'customers', task: 'after logout' });
    expect((await api.call('POST', '/v1/logout', { token })).status).toBe(200);
    const client = gatewayClient(tc, cert);
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/was ended or revoked/) });
    const again = await api.call('POST', '/v1/certs', { token, body: { csr: 'x', db: 'customers' } });
    expect(again.status).toBe(401);
  });
});

describe('revocation by another control plane sharing the store', () => {
  test('a login revoked in the store ends its open sessions within a second', async () => {
    const token = await loginClient(tc, api);
    const s = await openSession(token, 'revoked elsewhere');
    const revoked = await tc.cluster.server.store.revokeLoginSession(token.split('.')[0]!, new Date().toISOString());
    expect(revoked).toBe(true);
    const { err } = await within(s.ended, 1000, 'the end of the session after revocation in the store');
    expect(err).toMatchObject({ code: '28000', message: expect.stringMatching(/login behind this session was ended/) });
    expect((await sessionEnd(s.taskId)).message).toMatch(/login behind this session was ended/);
  });

  test('a lock placed in the store ends the sessions it covers within a second', async () => {
    const token = await loginClient(tc, api);
    const s = await openSession(token, 'locked elsewhere');
    const id = `lck_store_${Date.now()}`;
    await tc.cluster.server.store.putLock({ id, target: { task: s.taskId }, reason: 'incident 13', createdBy: 'other-plane', createdAt: new Date().toISOString() });
    const { err } = await within(s.ended, 1000, 'the end of the session after a lock in the store');
    expect(err.message).toMatch(/locked by other-plane: incident 13/);
    await tc.cluster.server.store.removeLock(id, 'other-plane', new Date().toISOString());
  });
});

describe('locks', () => {
  test('a lock on the identity ends its sessions through the same path, and the end event says why', async () => {
    const agent = await loginClient(tc, api);
    const reviewer = await loginClient(tc, api, 'demo-reviewer');
    const s = await openSession(agent, 'locked mid-task');
    const lock = await api.call('POST', '/v1/locks', { token: reviewer, body: { user: 'demo-agent', reason: 'incident 12' } });
    expect(lock.status, JSON.stringify(lock.body)).toBe(200);
    const { err } = await within(s.ended, 1000, 'the end of the session after the lock');
    expect(err.message).toMatch(/locked by demo-reviewer: incident 12/);
    expect((await sessionEnd(s.taskId)).message).toMatch(/locked by demo-reviewer: incident 12/);
    expect((await api.call('DELETE', `/v1/locks/${lock.body.id as string}`, { token: reviewer })).status).toBe(200);
  });
});
