// Names are data, and input is hostile: every route of the control plane's API, walked with garbage (bodies of
// the wrong JSON types, broken JSON, odd content types, hostile path and query values), answers 4xx with an
// AGENTDB_ERR_* code and never 5xx. Role names that Object.prototype knows are unknown roles; a locked identity
// files no access requests; a truncated CSR is a bad request.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateClientKey } from '../../src/ca/index.js';
import { REPO, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { apiClient, loginClient, type ApiClient, type ApiReply } from '../helpers/api-session.js';

let tc: TestCluster;
let api: ApiClient;
let agent: string;
let reviewer: string;

beforeAll(async () => {
  tc = await startTestCluster('apiinput');
  api = await apiClient(tc);
  agent = await loginClient(tc, api);
  reviewer = await loginClient(tc, api, 'demo-reviewer');
});
afterAll(async () => {
  await api?.close();
  await tc?.close();
});

/** Every route api.ts registers, read from its source so that a new route is walked without editing this test. */
async function routes(): Promise<{ method: string; url: string }[]> {
  const source = await readFile(path.join(REPO, 'src/server/api.ts'), 'utf8');
  return [...source.matchAll(/\bapp\.(get|post|put|patch|delete)\(\s*'([^']+)'/g)].map((m) => ({ method: m[1]!.toUpperCase(), url: m[2]! }));
}

const HOSTILE_PARAMS = ['__proto__', 'constructor', 'toString', '%00', '..%2F..%2Fetc', 'x'.repeat(2000), '%E2%80%AE', 'req_%27%3B--'];

const GARBAGE_BODIES: { body: string; contentType?: string }[] = [
  { body: '{' },
  { body: 'null' },
  { body: '1' },
  { body: '"text"' },
  { body: '[]' },
  { body: '[{"csr":"x"}]' },
  { body: '{}' },
  { body: '{"__proto__":{"role":"support"}}' },
  { body: '{"constructor":{"prototype":{"x":1}}}' },
  { body: JSON.stringify({ csr: 1, db: [], dbUser: {}, ttl: 5, task: null }) },
  { body: JSON.stringify({ csr: 'garbage', db: 'customers', ttl: '9'.repeat(19) + 'd' }) },
  { body: JSON.stringify({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----', db: 'customers' }) },
  { body: JSON.stringify({ csr: 'x', db: '__proto__', dbUser: 'constructor', dbName: 'toString' }) },
  { body: JSON.stringify({ role: '__proto__', reason: 'why not' }) },
  { body: JSON.stringify({ role: ['support'], reason: 7 }) },
  { body: JSON.stringify({ token: 'a.b.c' }) },
  { body: JSON.stringify({ token: 12 }) },
  { body: JSON.stringify({ loginId: '__proto__' }) },
  { body: JSON.stringify({ user: 'nobody', reason: 'x', ttl: '9'.repeat(19) + 'd' }) },
  { body: JSON.stringify({ user: 1, task: [], reason: {} }) },
  { body: JSON.stringify({ reason: 'x'.repeat(5000) }) },
  { body: 'role=support', contentType: 'application/x-www-form-urlencoded' },
  { body: 'hello', contentType: 'text/plain' },
  { body: '\u0000\uffff', contentType: 'application/json' },
];

const HOSTILE_QUERIES = [
  '?limit=abc', '?limit=-1', '?limit=1e9', '?since=zzz', `?since=${'9'.repeat(19)}d`, '?until=2024-99-99', '?since=0001-01-01',
  '?state=bogus', '?state=pending&state=denied', '?user=a&user=b', '?type=__proto__', '?__proto__[x]=1', '?query=%00',
];

function fill(url: string, param: string): string {
  return url.replace(/:[a-z]+/gi, param);
}

/** What went wrong across the walk: every reply that is 5xx, or refuses without an AGENTDB_ERR_* code. */
const faults: string[] = [];

function expectHandled(r: ApiReply, what: string): void {
  const coded = /^AGENTDB_ERR_[A-Z_]+$/.test(String(r.body.error?.code));
  if (r.status >= 500 || (r.status >= 400 && !coded)) faults.push(`${what.slice(0, 160)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
}

describe('every route, with garbage', () => {
  test('never answers 5xx, and every refusal has an AGENTDB_ERR_* code', async () => {
    const all = await routes();
    expect(all.length).toBeGreaterThanOrEqual(15);
    // Logout ends the token it is called with: walk it last.
    const ordered = [...all.filter((r) => r.url !== '/v1/logout'), ...all.filter((r) => r.url === '/v1/logout')];
    let calls = 0;
    for (const { method, url } of ordered) {
      for (const token of [undefined, 'garbage', 'a.b', reviewer]) {
        for (const param of url.includes(':') ? HOSTILE_PARAMS : ['']) {
          const target = fill(url, param);
          if (method === 'GET' || method === 'DELETE') {
            for (const q of ['', ...HOSTILE_QUERIES]) {
              expectHandled(await api.call(method, target + q, token ? { token } : {}), `${method} ${target}${q} (token ${token?.slice(0, 8)})`);
              calls++;
            }
          } else {
            for (const g of GARBAGE_BODIES) {
              const r = await api.call(method, target, { body: g.body, ...(g.contentType ? { contentType: g.contentType } : {}), ...(token ? { token } : {}) });
              expectHandled(r, `${method} ${target} ${g.body.slice(0, 60)} (token ${token?.slice(0, 8)})`);
              calls++;
            }
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(500);
    expect(faults).toEqual([]);
    reviewer = await loginClient(tc, api, 'demo-reviewer');
  });
});

describe('names are data', () => {
  test('roles named like Object.prototype members are unknown roles: 400 with a code', async () => {
    for (const role of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const r = await api.call('POST', '/v1/requests', { token: agent, body: { role, reason: 'please' } });
      expect(r.status, role).toBe(400);
      expect(r.body.error?.code, role).toBe('AGENTDB_ERR_REQUEST_UNKNOWN_ROLE');
    }
    const pending = await api.call('GET', '/v1/requests?state=pending', { token: agent });
    expect((pending.body.requests as unknown[]).length).toBe(0);
  });

  test('a certificate for a database service named like a prototype member is refused as no grant', async () => {
    const csr = await (await generateClientKey()).csr('x');
    for (const db of ['__proto__', 'constructor', 'toString']) {
      const r = await api.call('POST', '/v1/certs', { token: agent, body: { csr, db } });
      expect(r.status, db).toBe(403);
      expect(r.body.error?.code, db).toBe('AGENTDB_ERR_POLICY_NO_DATABASE');
    }
  });

  test('a truncated CSR is a bad request with the CA\'s code, not an internal error', async () => {
    const csr = await (await generateClientKey()).csr('x');
    const lines = csr.trim().split('\n');
    for (const bad of [csr.slice(0, csr.length - 40), [lines[0], lines[1], lines.at(-1)].join('\n'), csr.slice(0, 60)]) {
      const r = await api.call('POST', '/v1/certs', { token: agent, body: { csr: bad, db: 'customers' } });
      expect(r.status, bad).toBe(400);
      expect(r.body.error?.code, bad).toBe('AGENTDB_ERR_CA_BAD_CSR');
    }
  });
});

describe('a locked identity', () => {
  test('files no access request and decides none; after unlock it may ask again', async () => {
    const lock = await api.call('POST', '/v1/locks', { token: reviewer, body: { user: 'demo-agent', reason: 'incident 9' } });
    expect(lock.status, JSON.stringify(lock.body)).toBe(200);
    const refused = await api.call('POST', '/v1/requests', { token: agent, body: { role: 'analyst', reason: 'read the data' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'AGENTDB_ERR_REQUEST_LOCKED', message: expect.stringMatching(/locked by demo-reviewer: incident 9/) });
    const decide = await api.call('POST', '/v1/requests/req_none/approve', { token: agent });
    expect(decide.status).toBe(403);
    expect(decide.body.error?.code).toBe('AGENTDB_ERR_REQUEST_LOCKED');
    expect((await api.call('DELETE', `/v1/locks/${lock.body.id as string}`, { token: reviewer })).status).toBe(200);
    const asked = await api.call('POST', '/v1/requests', { token: agent, body: { role: 'analyst', reason: 'read the data' } });
    expect(asked.status, JSON.stringify(asked.body)).toBe(200);
    // One open request per role: asking again while it waits is refused, naming the waiting one.
    const again = await api.call('POST', '/v1/requests', { token: agent, body: { role: 'analyst', reason: 'still need it' } });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'AGENTDB_ERR_REQUEST_PENDING', message: expect.stringContaining(asked.body.id as string) });
  });

  // Last: nobody in this suite can lift this lock afterwards.
  test('cannot lift its own lock', async () => {
    const lock = await api.call('POST', '/v1/locks', { token: reviewer, body: { user: 'demo-reviewer', reason: 'rotating keys' } });
    expect(lock.status).toBe(200);
    const lift = await api.call('DELETE', `/v1/locks/${lock.body.id as string}`, { token: reviewer });
    expect(lift.status).toBe(403);
    expect(lift.body.error?.code).toBe('AGENTDB_ERR_LOCK_LOCKED');
    const still = await api.call('GET', '/v1/locks', { token: reviewer });
    expect((still.body.locks as { id: string }[]).map((l) => l.id)).toContain(lock.body.id);
  });
});
