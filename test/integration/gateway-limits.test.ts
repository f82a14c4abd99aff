// Two of PostgreSQL's own limits, at the gateway: the largest message a client may send (limits.gateway.
// maxMessageBytes; PostgreSQL's is 1 GiB - 1) and authentication_timeout (limits.gateway.unauthenticated.timeout;
// 60 s as PostgreSQL). Both set low here so that a test sees them act; real clients on both sides.
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sslRequest, startupMessage } from '../../src/pgwire/index.js';
import { parseConfig } from '../../src/server/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert, type ClientCert } from '../helpers/task-certs.js';

const MAX_MESSAGE = 64 * 1024;
const AUTH_TIMEOUT_S = 2;

let tc: TestCluster;
let cert: ClientCert;

beforeAll(async () => {
  tc = await startTestCluster('gateway-limits', (c) => {
    c.limits.gateway.maxMessageBytes = MAX_MESSAGE;
    c.limits.gateway.unauthenticated.timeout = `${AUTH_TIMEOUT_S}s`;
  });
  cert = await issueTaskCert(tc, await clusterUserCa(tc), { identity: 'limits-client' });
});
afterAll(async () => {
  await tc?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connected() {
  const c = gatewayPgClient(tc, cert);
  await c.connect();
  return c;
}

/** Resolves when the client's connection has closed (its 'end' event). */
const closed = (c: { once(e: 'end', f: () => void): unknown }) => new Promise<void>((r) => c.once('end', () => r()));

describe('the maximum message size (limits.gateway.maxMessageBytes)', () => {
  test('defaults to PostgreSQL\'s 1 GiB - 1; can be lowered, not below 8 KiB nor above the default', () => {
    const base = { auth: { oidc: { issuer: 'https://idp.example', clientId: 'agentdb', audience: 'agentdb' } } };
    expect(parseConfig(JSON.stringify(base)).limits.gateway.maxMessageBytes).toBe(0x3fffffff);
    expect(parseConfig(JSON.stringify({ ...base, limits: { gateway: { maxMessageBytes: 1048576 } } })).limits.gateway.maxMessageBytes).toBe(1048576);
    expect(() => parseConfig(JSON.stringify({ ...base, limits: { gateway: { maxMessageBytes: 4096 } } }))).toThrow(/limits\.gateway\.maxMessageBytes/);
    expect(() => parseConfig(JSON.stringify({ ...base, limits: { gateway: { maxMessageBytes: 0x40000000 } } }))).toThrow(/limits\.gateway\.maxMessageBytes/);
  });

  test('a statement under the limit runs', async () => {
    const c = await connected();
    const text = 'x'.repeat(MAX_MESSAGE - 1024);
    expect((await c.query(`SELECT length('${text}') AS n`)).rows[0].n).toBe(text.length);
    await c.end();
  });

  test('one over it is refused with 08P01 and the session is closed', async () => {
    const c = await connected();
    const ended = closed(c);
    await expect(c.query(`SELECT length('${'x'.repeat(MAX_MESSAGE)}')`)).rejects.toMatchObject({ code: '08P01', message: expect.stringMatching(/more than the limit of 65536/) });
    await ended;
  });

  test('a message is refused on its announced length alone: nothing of it is buffered first', async () => {
    const c = await connected();
    const errors: { code?: string; message?: string }[] = [];
    c.on('error', (e) => errors.push(e as { code?: string }));
    const ended = closed(c);
    // The header of a 512 MiB Query, and not one byte of its body: the answer cannot wait for the body.
    const header = Buffer.alloc(5);
    header.write('Q', 0);
    header.writeInt32BE(512 * 1024 * 1024, 1);
    (c as unknown as { connection: { stream: net.Socket } }).connection.stream.write(header);
    await ended;
    expect(errors).toContainEqual(expect.objectContaining({ code: '08P01', message: expect.stringMatching(/announces 536870912 bytes, more than the limit of 65536/) }));
  });
});

describe('authentication_timeout (limits.gateway.unauthenticated.timeout)', () => {
  test('defaults to 60 s, as PostgreSQL\'s', () => {
    const base = { auth: { oidc: { issuer: 'https://idp.example', clientId: 'agentdb', audience: 'agentdb' } } };
    expect(parseConfig(JSON.stringify(base)).limits.gateway.unauthenticated.timeout).toBe('60s');
  });

  /** Opens a raw connection, lets `prime` send what it sends, and returns ms from connect to the server's close. */
  async function closedAfter(prime: (s: net.Socket) => Promise<unknown> | void): Promise<number> {
    const { host, port } = tc.cluster.info.gateway;
    const s = net.connect(port, host);
    s.on('error', () => undefined);
    s.resume();
    await new Promise((r) => s.once('connect', r));
    const t0 = Date.now();
    const done = new Promise<number>((r) => s.once('close', () => r(Date.now() - t0)));
    await prime(s);
    // A generous ceiling: only "closed by the deadline" is asserted, not how promptly.
    const ms = await Promise.race([done, sleep(AUTH_TIMEOUT_S * 1000 + 15_000).then(() => -1)]);
    s.destroy();
    return ms;
  }

  test.each([
    ['sends nothing', () => undefined],
    ['sends half a startup packet', (s: net.Socket) => void s.write(startupMessage({ user: 'app_rw', database: tc.database }).subarray(0, 6))],
    ['sends SSLRequest and then nothing', (s: net.Socket) => void s.write(sslRequest())],
  ])('a connection that %s is closed at the deadline', async (_what, prime) => {
    const ms = await closedAfter(prime);
    expect(ms).not.toBe(-1);
    // Not before: the deadline, not something else, closed it (a few hundred ms of timer slack allowed).
    expect(ms).toBeGreaterThanOrEqual(AUTH_TIMEOUT_S * 1000 - 300);
  });

  test('a connection that completes TLS with a valid certificate but sends no startup packet is closed at the deadline', async () => {
    const ms = await closedAfter(async (raw) => {
      raw.write(sslRequest());
      await new Promise((r) => raw.once('data', r));
      raw.pause();
      const secure = tls.connect({ socket: raw, ca: cert.serverCaPem, cert: cert.certPem, key: cert.keyPem, servername: undefined, checkServerIdentity: () => undefined });
      secure.on('error', () => undefined);
      await new Promise((r) => secure.once('secureConnect', r));
    });
    expect(ms).not.toBe(-1);
    expect(ms).toBeGreaterThanOrEqual(AUTH_TIMEOUT_S * 1000 - 300);
  });

  test('an open session is not touched by it: idle past the deadline, it still runs statements', async () => {
    const c = await connected();
    await sleep(AUTH_TIMEOUT_S * 1000 + 1500);
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.end();
  });
});
