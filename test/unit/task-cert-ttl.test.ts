// Task certificates are issued grant by grant: the roles that grant the requested database user and name set
// the lifetime cap and go into the certificate; a role granted just in time extends only what it alone grants.
// Real CA, real SQLite store, real audit log; the just-in-time grant is requested and approved as the API does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuditLog } from '../../src/audit/index.js';
import { CertificateAuthority, generateClientKey, parseTaskCert } from '../../src/ca/index.js';
import type { Identity } from '../../src/identity/index.js';
import { roleSchema, roleTable, type Role, type RoleInput } from '../../src/policy/index.js';
import { AccessRequests } from '../../src/server/access-requests.js';
import { demoRoles } from '../../src/server/dev/demo-roles.js';
import { Locks } from '../../src/server/locks.js';
import type { LoginSession } from '../../src/server/login-sessions.js';
import { TaskCertIssuer, type CertRequest } from '../../src/server/task-certs.js';
import { ServerError } from '../../src/server/errors.js';
import { tempStores } from './audit-fixtures.js';
import { rejected } from '../helpers/expect-coded.js';

const H = 3600_000;
const DB = 'shop';
const stores = tempStores();
const dir = mkdtempSync(path.join(tmpdir(), 'agentdb-ttl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface World {
  issuer: TaskCertIssuer;
  requests: AccessRequests;
  audit: AuditLog;
}

let ca: CertificateAuthority;
beforeAll(async () => {
  ca = await CertificateAuthority.loadOrCreate(dir, 'user', 'ttl-test');
});

async function world(input: Record<string, RoleInput>): Promise<World> {
  const { store } = await stores.open();
  const audit = await AuditLog.open(store);
  const roles = roleTable(Object.fromEntries(Object.entries(input).map(([k, v]) => [k, roleSchema.parse(v)])) as Record<string, Role>);
  const locks = new Locks(store, audit, () => undefined);
  const requests = new AccessRequests(store, audit, roles, locks);
  return { issuer: new TaskCertIssuer(ca, roles, audit, locks, requests), requests, audit };
}

const identity = (name: string, kind: Identity['kind'], roles: string[]): Identity => ({ name, kind, roles, traits: {}, issuer: 'test', subject: name });
const login = (who: Identity): LoginSession => ({ id: `ls_${who.name}`, identity: who, expiresAt: new Date(Date.now() + 24 * H) });

async function issue(w: World, who: Identity, req: Omit<CertRequest, 'csr'>) {
  const key = await generateClientKey();
  const issued = await w.issuer.issue(login(who), { csr: await key.csr(who.name), ...req });
  // Measured from after issuance: notAfter is the issuer's clock plus the TTL, never later than this plus it.
  const after = Date.now();
  const cert = parseTaskCert(issued.cert);
  return { issued, cert, lifetimeMs: cert.notAfter.getTime() - after };
}

async function lastIssuedEvent(w: World) {
  const events = await w.audit.search({ type: 'cert.issued', limit: 1000 });
  return events.at(-1)!;
}

describe('the demo: support granted just in time to demo-agent', () => {
  const agent = identity('demo-agent', 'agent', ['demo-agent']);
  const alice = identity('alice', 'human', ['support']);
  let w: World;
  let grant: string;

  beforeAll(async () => {
    w = await world(demoRoles(DB));
    const rec = await w.requests.createRoleRequest(agent, 'support', 'look into a customer problem');
    grant = (await w.requests.decide(alice, rec.id, true)).id;
  });

  test('app_rw, which demo-agent holds itself, stays capped at demo-agent\'s 1h and carries only demo-agent', async () => {
    const { cert, lifetimeMs } = await issue(w, agent, { db: 'customers', dbUser: 'app_rw', ttl: '8h' });
    expect(lifetimeMs).toBeLessThanOrEqual(H);
    expect(lifetimeMs).toBeGreaterThan(H - 60_000);
    expect(cert.payload.roles).toEqual(['demo-agent']);
    expect(cert.payload.db).toEqual({ service: 'customers', names: [DB], users: ['app_rw'] });
    expect(cert.payload.accessRequest).toBeUndefined();
    const event = await lastIssuedEvent(w);
    expect(event.identity?.roles).toEqual(['demo-agent']);
    expect(event.details).toMatchObject({ ttl: { requested: '8h', cap: '1h', capBy: 'demo-agent' } });
    expect(event.details?.grantedBy).toBeUndefined();
  });

  test('without --db-user the same: the agent\'s own role chooses', async () => {
    const { cert, lifetimeMs } = await issue(w, agent, { db: 'customers', ttl: '8h' });
    expect(cert.payload.roles).toEqual(['demo-agent']);
    expect(lifetimeMs).toBeLessThanOrEqual(H);
  });

  test('app_ro, which only the grant gives, lasts up to support\'s 8h and names the grant', async () => {
    const { cert, lifetimeMs } = await issue(w, agent, { db: 'customers', dbUser: 'app_ro', ttl: '12h' });
    expect(lifetimeMs).toBeLessThanOrEqual(8 * H);
    expect(lifetimeMs).toBeGreaterThan(8 * H - 60_000);
    expect(cert.payload.roles).toEqual(['support']);
    expect(cert.payload.accessRequest).toBe(grant);
    const event = await lastIssuedEvent(w);
    expect(event.details).toMatchObject({ ttl: { requested: '12h', capBy: 'support' }, grantedBy: [grant] });
  });

  test('a shorter request is kept as asked', async () => {
    const { lifetimeMs } = await issue(w, agent, { db: 'customers', dbUser: 'app_ro', ttl: '10m' });
    expect(lifetimeMs).toBeLessThanOrEqual(10 * 60_000);
    expect(lifetimeMs).toBeGreaterThan(9 * 60_000);
  });
});

describe('grant by grant', () => {
  // One identity, two roles: each grants one user on one database of the same service.
  const roles: Record<string, RoleInput> = {
    writer: { maxTtl: '1h', databases: [{ service: 'customers', names: ['db1'], users: ['app_rw'] }] },
    reader: { maxTtl: '8h', databases: [{ service: 'customers', names: ['db2'], users: ['app_ro'] }] },
    both: { maxTtl: '2h', databases: [{ service: 'customers', names: ['db1', 'db2'], users: ['app_ro', 'app_rw'] }] },
  };
  const person = identity('bea', 'human', ['writer', 'reader']);
  let w: World;
  beforeAll(async () => {
    w = await world(roles);
  });

  test('one role\'s user never combines with another role\'s database name', async () => {
    const csr = await (await generateClientKey()).csr('bea');
    const err = await rejected(ServerError, w.issuer.issue(login(person), { csr, db: 'customers', dbUser: 'app_rw', dbName: 'db2' }), 'AGENTDB_ERR_CERT_NO_GRANT');
    expect(err.status).toBe(403);
  });

  test('the cap and the names come from the role that grants the user', async () => {
    const ro = await issue(w, person, { db: 'customers', dbUser: 'app_ro', ttl: '24h' });
    expect(ro.cert.payload).toMatchObject({ roles: ['reader'], db: { names: ['db2'], users: ['app_ro'] } });
    expect(ro.lifetimeMs).toBeGreaterThan(8 * H - 60_000);
    const rw = await issue(w, person, { db: 'customers', dbUser: 'app_rw', ttl: '24h' });
    expect(rw.cert.payload).toMatchObject({ roles: ['writer'], db: { names: ['db1'], users: ['app_rw'] } });
    expect(rw.lifetimeMs).toBeLessThanOrEqual(H);
  });

  test('several own roles that grant the user all go in, and the longest of them caps', async () => {
    const three = identity('cyd', 'human', ['writer', 'reader', 'both']);
    const { cert, lifetimeMs } = await issue(w, three, { db: 'customers', dbUser: 'app_rw', dbName: 'db1', ttl: '24h' });
    expect(cert.payload.roles).toEqual(['writer', 'both']);
    expect(lifetimeMs).toBeLessThanOrEqual(2 * H);
    expect(lifetimeMs).toBeGreaterThan(2 * H - 60_000);
    expect((await lastIssuedEvent(w)).details).toMatchObject({ ttl: { cap: '2h', capBy: 'both' } });
  });

  test('roles named like Object.prototype members grant nothing', async () => {
    const odd = identity('dee', 'human', ['__proto__', 'constructor', 'toString']);
    const err = await w.issuer.issue(login(odd), { csr: await (await generateClientKey()).csr('dee'), db: 'customers' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AGENTDB_ERR_POLICY_NO_DATABASE', status: 403 });
  });

  test('a truncated or garbage CSR is the requester\'s fault: 400 with the CA\'s code', async () => {
    const csr = await (await generateClientKey()).csr('bea');
    const lines = csr.trim().split('\n');
    const truncated = [...lines.slice(0, 3), lines.at(-1)!].join('\n');
    // The same request with one byte of its signature flipped: well-formed, but not signed by its key.
    const der = Buffer.from(lines.slice(1, -1).join(''), 'base64');
    der[der.length - 3]! ^= 0x55;
    const forged = `${lines[0]}\n${der.toString('base64')}\n${lines.at(-1)}\n`;
    for (const bad of [truncated, 'garbage', forged]) {
      const err = await rejected(ServerError, w.issuer.issue(login(person), { csr: bad, db: 'customers', dbUser: 'app_ro' }), 'AGENTDB_ERR_CA_BAD_CSR');
      expect(err.status, bad).toBe(400);
    }
  });
});

describe('a role that grants several database users', () => {
  test('without --db-user: the grant\'s defaultUser, else the first user it lists (least privileged first)', async () => {
    const w = await world({
      ops: { databases: [{ service: 'shop', names: [DB], users: ['reader', 'writer'] }] },
      ops2: { databases: [{ service: 'shop2', names: [DB], users: ['reader', 'writer'], defaultUser: 'writer' }] },
    });
    const person = identity('carol', 'human', ['ops', 'ops2']);
    expect((await issue(w, person, { db: 'shop' })).cert.payload.db.users).toEqual(['reader']);
    expect((await issue(w, person, { db: 'shop2' })).cert.payload.db.users).toEqual(['writer']);
    expect((await issue(w, person, { db: 'shop', dbUser: 'writer' })).cert.payload.db.users).toEqual(['writer']);
  });

  test('grants that disagree on the default ask for --db-user', async () => {
    const w = await world({
      a: { databases: [{ service: 'shop', names: [DB], users: ['reader', 'writer'] }] },
      b: { databases: [{ service: 'shop', names: [DB], users: ['writer', 'reader'] }] },
    });
    await expect(issue(w, identity('dan', 'human', ['a', 'b']), { db: 'shop' })).rejects.toThrow(/choose a database user with --db-user/);
  });

  test('a defaultUser the grant does not list is a configuration error', () => {
    expect(() => roleSchema.parse({ databases: [{ service: 's', names: ['d'], users: ['a'], defaultUser: 'b' }] })).toThrow(/defaultUser must be one of users/);
  });
});
