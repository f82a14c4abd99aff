// Nobody knocks the control plane or the gateway over: thousands of connections that never authenticate
// (idle, or stuck half way into TLS) are shed at once beyond the caps and closed at their deadline, while a
// certified client keeps running statements and /v1/ping keeps answering; a storm of device login starts
// from one address is answered 429 while a real person's login completes.
// Flooders use other loopback addresses (127.0.0.2 and up) so that per-address caps can tell them from the
// real clients on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { sslRequest } from '../../src/pgwire/index.js';
import { completeDeviceLogin } from '../helpers/browser.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { runFloods, type FloodRecord } from '../helpers/flooder.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert, type ClientCert } from '../helpers/task-certs.js';

/** The deadline for unauthenticated connections in this suite (the defaults are 15 s for the API, 60 s for the gateway; the test need not wait that long). */
const DEADLINE_S = 3;
/** The defaults' caps, which the suite runs with. */
const PER_ADDRESS = 64;
const TOTAL = 1000;

let tc: TestCluster;
let cert: ClientCert;
let caPem: string;

beforeAll(async () => {
  tc = await startTestCluster('flood', (c) => {
    c.limits.api.unauthenticated.timeout = `${DEADLINE_S}s`;
    c.limits.gateway.unauthenticated.timeout = `${DEADLINE_S}s`;
  });
  cert = await issueTaskCert(tc, await clusterUserCa(tc), { identity: 'steady-client' });
  caPem = readFileSync(tc.cluster.info.caFile, 'utf8');
});
afterAll(async () => {
  await tc?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const apiPort = () => Number(new URL(tc.cluster.info.server).port);
const gwPort = () => tc.cluster.info.gateway.port;
const openFds = () => readdirSync('/proc/self/fd').length;

/** The soft limit on open files: the flood is sized under it, since client and server share this process. */
function fdLimit(): number {
  return Number(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
}

// ---------------------------------------------------------------------------------------------
// flooding (from a worker thread: see helpers/flooder.ts)

/** ms from the client's connect to the close. */
const lifetime = (r: FloodRecord) => r.closedAt! - r.connectedAt;
/** Closed well before any deadline could have passed (the server's starts at accept, after connect; a second
 *  of slack for timers on a loaded machine): refused by a cap, or evicted for a newcomer. */
const wasRefused = (r: FloodRecord) => lifetime(r) < DEADLINE_S * 1000 - 1000;

/** How a flood ended, from the flooder's clock: how long opening took, how fast the refused were closed, when
 *  the last one closed, and the most that were open at once. */
function shedding(rs: FloodRecord[]) {
  const refused = rs.filter(wasRefused).map(lifetime).sort((a, b) => a - b);
  const t0 = Math.min(...rs.map((r) => r.connectedAt));
  const events = rs.flatMap((r) => [[r.connectedAt, 1], [r.closedAt!, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of events) peak = Math.max(peak, (now += d));
  return {
    connections: rs.length,
    openingMs: Math.max(...rs.map((r) => r.connectedAt)) - t0,
    refused: refused.length,
    refusedMedianMs: refused[Math.floor(refused.length / 2)] ?? 0,
    refusedP99Ms: refused[Math.floor(refused.length * 0.99)] ?? 0,
    heldToDeadline: rs.length - refused.length,
    peakOpen: peak,
    allClosedMs: Math.max(...rs.map((r) => r.closedAt!)) - t0,
  };
}

const sources = (from: number, count: number) => Array.from({ length: count }, (_, i) => `127.0.0.${from + i}`);

/** A TLS record header that announces a 16 KiB ClientHello, and one byte of it: a handshake that never completes. */
const HALF_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01]);
/** Long enough for the slowest flood to be opened and reach its deadline on a loaded machine. */
const FLOOD_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// the real clients

function apiRequest(method: string, path: string, opts: { body?: unknown; token?: string; localAddress?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      `${tc.cluster.info.server}${path}`,
      {
        method,
        ca: caPem,
        agent: false,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const gatewayClient = (): pg.Client => gatewayPgClient(tc, cert, { connectionTimeoutMillis: 10_000 });

/** Runs statements on an open session and pings the API with fresh connections until stopped; counts both. */
function steadyWork(session: pg.Client) {
  const counts = { statements: 0, statementErrors: [] as string[], pings: 0, pingErrors: [] as string[], sessions: 0, sessionErrors: [] as string[] };
  let stopped = false;
  const statements = (async () => {
    while (!stopped) {
      try {
        const r = await session.query('SELECT count(*)::int AS n FROM orders');
        if (typeof r.rows[0].n !== 'number') throw new Error('no count');
        counts.statements++;
      } catch (err) {
        counts.statementErrors.push((err as Error).message);
        await sleep(50);
      }
    }
  })();
  const pings = (async () => {
    while (!stopped) {
      try {
        const r = await apiRequest('GET', '/v1/ping');
        if (r.status !== 200) throw new Error(`ping answered ${r.status}`);
        counts.pings++;
      } catch (err) {
        counts.pingErrors.push((err as Error).message);
      }
      await sleep(100);
    }
  })();
  // New sessions, too: the caps must leave room for a real client's handshake.
  const sessions = (async () => {
    while (!stopped) {
      const c = gatewayClient();
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.query('SELECT 1');
        counts.sessions++;
      } catch (err) {
        counts.sessionErrors.push((err as Error).message);
      } finally {
        await c.end().catch(() => undefined);
      }
      await sleep(250);
    }
  })();
  return {
    counts,
    async stop() {
      stopped = true;
      await Promise.all([statements, pings, sessions]);
      return counts;
    },
  };
}

// ---------------------------------------------------------------------------------------------

describe('connection floods', () => {
  test('idle and half-open connections on both ports are shed; statements, pings and new sessions carry on', { timeout: 240_000 }, async () => {
    // Every flood connection costs a descriptor on each side while the server holds it, and both live here.
    const limit = fdLimit();
    const perPort = Math.min(3000, Math.floor((limit - 2000) / 4));
    expect(perPort, `fd limit ${limit} leaves too little room for a flood`).toBeGreaterThanOrEqual(500);

    const session = gatewayClient();
    await session.connect();
    const work = steadyWork(session);
    const report: Record<string, unknown> = { fdLimit: limit, perPort };
    try {
      await sleep(500);

      // 1. A few heavy addresses: the per-address cap sheds all but PER_ADDRESS of each at once; those let in
      //    are closed at the deadline.
      {
        // idle ones from three addresses, half-open ones from three others, so that both kinds are let in
        const idle = sources(2, 3);
        const half = sources(5, 3);
        const n = Math.floor(perPort / (idle.length + half.length));
        const fdsBefore = openFds();
        const [api, apiHalf, gw, gwHalf] = await runFloods(
          [
            { port: apiPort(), sources: idle, perSource: n },
            { port: apiPort(), sources: half, perSource: n, first: HALF_HELLO },
            { port: gwPort(), sources: idle, perSource: n },
            { port: gwPort(), sources: half, perSource: n, first: sslRequest(), onS: HALF_HELLO },
          ],
          FLOOD_TIMEOUT_MS,
        );
        for (const rs of [api!, apiHalf!, gw!, gwHalf!]) expect(rs.filter((r) => r.closedAt === undefined).length, 'flood connections never closed').toBe(0);
        // Refused gateway connections hear what PostgreSQL says when it has no room: FATAL 53300. Every idle
        // one does, and the rest were held to the deadline in silence; one whose SSLRequest was already in
        // flight may see the close as a reset instead, as the gateway does not wait to read it (that would
        // hold its descriptor).
        expect(gw!.filter((r) => !r.said53300 && wasRefused(r)).map(lifetime)).toEqual([]);
        expect(gw!.filter((r) => r.said53300).length).toBeGreaterThan(0);
        // Those let in after SSLRequest were answered 'S', began TLS and were closed at the deadline.
        const inTls = gwHalf!.filter((r) => r.firstByte === 0x53);
        expect(inTls.length).toBeGreaterThan(0);
        expect(inTls.filter(wasRefused).map(lifetime)).toEqual([]);
        const apiShed = shedding([...api!, ...apiHalf!]);
        const gwShed = shedding([...gw!, ...gwHalf!]);
        expect(apiShed.refused).toBeGreaterThan(0);
        expect(gwShed.refused).toBeGreaterThan(0);
        report.heavy = { api: apiShed, gw: gwShed, refusedWith53300: [...gw!, ...gwHalf!].filter((r) => r.said53300).length, fdsBefore, fdsAfter: openFds() };
      }

      // 2. A crowd: more addresses than the total cap leaves room for at PER_ADDRESS each.
      {
        const crowd = sources(20, 60);
        const n = Math.floor(perPort / crowd.length);
        expect(crowd.length * n).toBeGreaterThan(TOTAL);
        const [api, gw] = await runFloods(
          [
            { port: apiPort(), sources: crowd, perSource: n },
            { port: gwPort(), sources: crowd, perSource: n, first: sslRequest() },
          ],
          FLOOD_TIMEOUT_MS,
        );
        for (const rs of [api!, gw!]) expect(rs.filter((r) => r.closedAt === undefined).length, 'flood connections never closed').toBe(0);
        const apiShed = shedding(api!);
        const gwShed = shedding(gw!);
        expect(apiShed.refused).toBeGreaterThan(0);
        expect(gwShed.refused).toBeGreaterThan(0);
        report.crowd = { api: apiShed, gw: gwShed };
      }
    } finally {
      const counts = await work.stop();
      await session.end().catch(() => undefined);
      report.during = { statements: counts.statements, pings: counts.pings, newSessions: counts.sessions, errors: [...counts.statementErrors, ...counts.pingErrors, ...counts.sessionErrors].slice(0, 5) };
      console.log(`flood report: ${JSON.stringify(report)}`);
    }
    expect(work.counts.statementErrors).toEqual([]);
    expect(work.counts.pingErrors).toEqual([]);
    expect(work.counts.sessionErrors).toEqual([]);
    expect(work.counts.statements).toBeGreaterThan(0);
    expect(work.counts.pings).toBeGreaterThan(0);
    expect(work.counts.sessions).toBeGreaterThan(0);
  });
});

describe('device login storm', () => {
  test('500 starts from one address are answered 429 with Retry-After, and a real login completes meanwhile', { timeout: 120_000 }, async () => {
    const STORM = 500;
    const t0 = Date.now();
    const answers: { status: number; retryAfter?: string; code?: string }[] = [];
    const storm = (async () => {
      // 50 at a time: below the per-address connection cap, so each start reaches the route.
      for (let i = 0; i < STORM; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, STORM - i) }, () => apiRequest('POST', '/v1/login/device', { localAddress: '127.0.0.200' })),
        );
        for (const r of batch) {
          const err = r.json.error as { code?: string } | undefined;
          answers.push({ status: r.status, ...(typeof r.headers['retry-after'] === 'string' ? { retryAfter: r.headers['retry-after'] } : {}), ...(err?.code ? { code: err.code } : {}) });
        }
      }
    })();

    // alice, from 127.0.0.1, while the storm goes on
    const start = await apiRequest('POST', '/v1/login/device');
    expect(start.status).toBe(200);
    const alice = tc.cluster.info.users.find((u) => u.name === 'alice')!;
    await completeDeviceLogin(start.json.verificationUri as string, start.json.userCode as string, alice.name, alice.password);
    let session: { status: number; json: Record<string, unknown> };
    do session = await apiRequest('POST', '/v1/login/device/poll', { body: { loginId: start.json.loginId } });
    while (session.status === 202);
    expect(session.status).toBe(200);
    const whoami = await apiRequest('GET', '/v1/whoami', { token: session.json.token as string });
    expect(whoami.json.identity).toMatchObject({ name: 'alice' });
    const aliceMs = Date.now() - t0;

    await storm;
    const stormMs = Date.now() - t0;
    const ok = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    console.log(`device login storm: ${JSON.stringify({ starts: STORM, ok, limited: limited.length, stormMs, aliceLoggedInMs: aliceMs })}`);
    expect(answers.length).toBe(STORM);
    // At most the per-address cap of pending logins; everything else 429 with a coded error and Retry-After.
    expect(ok).toBe(10);
    expect(limited.length).toBe(STORM - ok);
    for (const a of limited) {
      expect(['AGENTDB_ERR_API_RATE_LIMITED', 'AGENTDB_ERR_API_TOO_MANY_LOGINS']).toContain(a.code);
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect(limited.some((a) => a.code === 'AGENTDB_ERR_API_RATE_LIMITED')).toBe(true);
    expect(limited.some((a) => a.code === 'AGENTDB_ERR_API_TOO_MANY_LOGINS')).toBe(true);
  });

  test('bodies beyond the limit are refused before any route sees them', async () => {
    const r = await apiRequest('POST', '/v1/login/token', { body: { token: 'x'.repeat(100 * 1024) } });
    expect(r.status).toBe(413);
    expect((r.json.error as { code: string }).code).toBe('AGENTDB_ERR_API_BAD_REQUEST');
  });
});
