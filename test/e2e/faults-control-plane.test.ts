// Issue #15, faults: the control plane goes away while `agentdb proxy` has sessions open. The control plane and
// the gateway are one process (`agentdb server`), so stopping that process would take the gateway and every
// session with it. What the architecture lets fail on its own is the control plane's address as the proxy
// sees it: the agent logs in through a loopback relay in front of the API, and the relay is stopped (connections
// refused) and started again on the same port, while the gateway keeps running.
// Established sessions keep running statements; a new connection that needs a new certificate is refused at once
// with SQLSTATE 08001 and a message that names the control plane; once it is back, the same proxy process opens
// sessions again.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { agentdb, eventually, startProxyCli, startTestCluster, type CliProcess, type ProxyReady, type TestCluster } from '../helpers/cluster.js';
import { startLoopbackRelay, type LoopbackRelay } from '../helpers/byte-tee.js';

const TASK = 'control plane down';
// Short, so the test sees the renewal at two thirds (which fails) and the expiry (after which a new certificate is needed).
const TTL_S = 10;

let tc: TestCluster;
let relay: LoopbackRelay;
let apiTarget: { host: string; port: number };
let proxy: { proc: CliProcess; ready: ProxyReady } | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  tc = await startTestCluster('cpdown');
  const api = new URL(tc.cluster.info.server);
  apiTarget = { host: api.hostname, port: Number(api.port) };
  relay = await startLoopbackRelay(apiTarget, () => (chunk) => chunk);
});
afterAll(async () => {
  await proxy?.proc.stop();
  await relay?.close();
  await tc?.close();
});

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  // The gateway ends a session when its certificate does; that arrives as an 'error' event, expected here.
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function one(url: string): Promise<string> {
  const c = await connect(url);
  try {
    return (await c.query('SELECT current_user AS u')).rows[0].u as string;
  } finally {
    await c.end().catch(() => undefined);
  }
}

test('with the control plane down, open sessions go on and new ones get a clear 08001; the proxy recovers when it is back', async () => {
  const home = await tc.newHome();
  const relayUrl = `https://${relay.address.host}:${relay.address.port}`;
  const agent = tc.cluster.info.clients.find((x) => x.id === 'demo-agent')!;
  const login = await agentdb(home, ['login', '--server', relayUrl, '--ca-file', tc.cluster.info.caFile, '--client-id', agent.id, '--client-secret-env', 'CLIENT_SECRET'], { CLIENT_SECRET: agent.secret });
  expect(login.code, login.stderr).toBe(0);
  proxy = await startProxyCli(home, ['--db', 'customers', '--task', TASK, '--ttl', `${TTL_S}s`]);
  const { ready, proc } = proxy;
  const expiry = new Date(ready.expiresAt).getTime();
  const issuedBefore = (await tc.cluster.server.audit.search({ type: 'cert.issued', task: TASK })).length;

  const session = await connect(ready.url);
  expect((await session.query('SELECT current_user AS u')).rows[0].u).toBe('app_rw');

  // The control plane's address stops answering (connection refused); the gateway runs on.
  await relay.close();
  const renewAt = expiry - (TTL_S * 1000) / 3;
  // Statements on the open session, through and past the renewal that now fails.
  let statements = 0;
  while (Date.now() < renewAt + 1_500) {
    const r = await session.query('SELECT count(*)::int AS n FROM customers');
    expect(r.rows[0].n).toBeGreaterThan(0);
    statements++;
    await sleep(250);
  }
  expect(statements).toBeGreaterThan(5);
  await eventually(async () => (/renewing the task certificate failed: cannot reach the agentdb control plane at .*; retrying in \d+ s/.test(proc.stderr) ? true : undefined), 'the proxy to report the failed renewal');
  // The certificate in hand is still valid: a new connection needs no new one and gets through.
  expect(await one(ready.url)).toBe('app_rw');

  // Past its end a new connection needs a new certificate, which cannot be had: refused at once, saying why.
  await sleep(Math.max(0, expiry + 500 - Date.now()));
  const started = Date.now();
  const refused = await one(ready.url).then(
    () => undefined,
    (err: Error & { code?: string }) => err,
  );
  expect(refused?.code).toBe('08001');
  expect(refused?.message).toMatch(new RegExp(`agentdb control plane unreachable at ${relayUrl.replace(/[.]/g, '\\.')}: retrying`));
  // Not a connection left waiting for the control plane: the answer comes without the API's own timeouts.
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(proc.child.exitCode).toBeNull();
  // The open session ended with its own certificate (the gateway's rule, control plane or not).
  await session.end().catch(() => undefined);

  // The control plane is back on the same address: the same proxy process opens sessions again, on a new certificate.
  relay = await startLoopbackRelay(apiTarget, () => (chunk) => chunk, relay.address.port);
  const user = await eventually(() => one(ready.url).catch(() => undefined), 'a new session through the recovered proxy', 30_000);
  expect(user).toBe('app_rw');
  const issuedAfter = await tc.cluster.server.audit.search({ type: 'cert.issued', task: TASK });
  expect(issuedAfter.length).toBeGreaterThan(issuedBefore);
  expect(proc.child.exitCode).toBeNull();
});
