// The local listener of `agentdb proxy` authenticates its client: any local user can reach a loopback port,
// so each proxy makes a secret and every client must prove it (SCRAM-SHA-256) before a byte goes to the
// gateway under the agent's task certificate. Real clients (node-postgres, postgres.js, psql, libpq as
// another uid), the real CLI, the real gateway and audit log.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import {
  SCRAM_SHA_256, ScramSha256Client, passwordMessage, readAuthentication, readNegotiateProtocolVersion, saslInitialResponse, saslResponse, startupMessage,
} from '../../src/pgwire/index.js';
import { CliProcess, agentdb, eventually, loginAgent, startProxyCli, startTestCluster, type ProxyReady, type TestCluster } from '../helpers/cluster.js';
import { Wire, errorOf, rowsOf as rowsOfQuery } from '../helpers/wire.js';
import { runCollecting } from '../helpers/spawn.js';

const TASK = 'proxy auth test';
const NOBODY = 65534;

let tc: TestCluster;
let home: string;
let proxy: { proc: CliProcess; ready: ProxyReady };
let socketDir: string;
let scratch: string;

beforeAll(async () => {
  tc = await startTestCluster('proxyauth');
  home = await tc.newHome();
  scratch = await mkdtemp(path.join(tmpdir(), 'agentdb-proxyauth-'));
  // The proxy makes this directory itself (0700): it does not exist yet.
  socketDir = path.join(scratch, 'sock');
  await loginAgent(tc, home);
  proxy = await startProxyCli(home, ['--db', 'customers', '--task', TASK, '--socket', socketDir]);
});
afterAll(async () => {
  await proxy?.proc.stop();
  await tc?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const run = (file: string, args: string[], env: Record<string, string>) => runCollecting(file, args, { env });

/** psql with no password file, no prompt (-w) and no psqlrc: it uses exactly the password it is given. */
const psqlEnv = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSFILE: '/dev/null', PGCONNECT_TIMEOUT: '20', ...extra });
const psqlArgs = (host: string, app: string) => ['-X', '-w', '-A', '-t', '-h', host, '-p', String(proxy.ready.port), '-U', proxy.ready.dbUser, '-d', tc.database, '-c', `select current_user /* ${app} */`];

function urlWithPassword(password: string | undefined): string {
  const u = new URL(proxy.ready.url);
  u.password = password ?? '';
  return u.href;
}

async function pgCurrentUser(connectionString: string, app: string): Promise<string> {
  const c = new pg.Client({ connectionString, application_name: app });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query('SELECT current_user AS u')).rows[0].u as string;
  } finally {
    await c.end();
  }
}

/** application_name of every refused attempt: none may show up in the gateway's audit. */
const refusedApps: string[] = [];
let refusedAttempts = 0;

describe('a client that knows the proxy secret gets through; its StartupMessage reaches the gateway as sent', () => {
  test('the ready line carries the secret in url and password; the socket directory is 0700 and the socket 0600', async () => {
    const { ready } = proxy;
    expect(ready.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeURIComponent(new URL(ready.url).password)).toBe(ready.password);
    expect(ready.socket).toBe(path.join(socketDir, `.s.PGSQL.${ready.port}`));
    expect((await stat(socketDir)).mode & 0o777).toBe(0o700);
    expect((await stat(ready.socket!)).mode & 0o777).toBe(0o600);
  });

  test('node-postgres (SCRAM negotiated by the client) with the printed url', async () => {
    expect(await pgCurrentUser(proxy.ready.url, 'auth-ok-pg')).toBe('app_rw');
  });

  test('postgres.js with the printed url', async () => {
    const sql = postgres(proxy.ready.url, { max: 1, fetch_types: false, onnotice: () => undefined, connection: { application_name: 'auth-ok-pgjs' } });
    try {
      expect((await sql`SELECT current_user AS u`)[0]!.u).toBe('app_rw');
    } finally {
      await sql.end();
    }
  });

  test('psql over TCP and over the unix socket, with PGPASSWORD', async () => {
    const tcp = await run('psql', psqlArgs('127.0.0.1', 'auth-ok-psql'), psqlEnv({ PGPASSWORD: proxy.ready.password, PGAPPNAME: 'auth-ok-psql' }));
    expect(tcp.stderr).toBe('');
    expect(tcp.stdout.trim()).toBe('app_rw');
    const unix = await run('psql', psqlArgs(socketDir, 'auth-ok-socket'), psqlEnv({ PGPASSWORD: proxy.ready.password, PGAPPNAME: 'auth-ok-socket' }));
    expect(unix.stderr).toBe('');
    expect(unix.stdout.trim()).toBe('app_rw');
  });

  test('a raw SCRAM client asking for protocol 3.2 with a _pq_ option: the gateway answers the client\'s own StartupMessage', async () => {
    const w = await Wire.plain({ host: proxy.ready.host, port: proxy.ready.port });
    try {
      w.send(startupMessage({ user: 'app_rw', database: tc.database, application_name: 'auth-ok-raw', '_pq_.something': 'on' }, 2));
      const auth = (m: { raw: Buffer }) => readAuthentication(m.raw, 0, m.raw.length);
      expect(auth(await w.next())).toEqual({ kind: 'sasl', mechanisms: [SCRAM_SHA_256] });
      const scram = new ScramSha256Client(proxy.ready.password);
      w.send(saslInitialResponse(SCRAM_SHA_256, scram.clientFirstMessage()));
      const cont = auth(await w.next());
      if (cont.kind !== 'sasl-continue') throw new Error(`expected SASLContinue, got ${cont.kind}`);
      w.send(saslResponse(scram.clientFinalMessage(cont.data)));
      const fin = auth(await w.next());
      if (fin.kind !== 'sasl-final') throw new Error(`expected SASLFinal, got ${fin.kind}`);
      scram.verifyServerFinal(fin.data); // the proxy proved it knows the secret too
      // From here on it is the gateway speaking: only it can know the protocol it agreed with PostgreSQL.
      const hello = await w.until('ZE');
      const npv = hello.find((m) => m.type === 'v');
      expect(npv && readNegotiateProtocolVersion(npv.raw, 0, npv.raw.length)).toEqual({ newestMinor: 2, unrecognized: ['_pq_.something'] });
      expect(hello.map((m) => m.type).filter((t) => t === 'R' || t === 'K' || t === 'Z')).toEqual(['R', 'K', 'Z']);
      expect(rowsOfQuery(await w.query('SELECT current_user'))).toEqual([['app_rw']]);
    } finally {
      w.close();
    }
  });

  test('the gateway saw each client\'s own startup parameters (application_name) for these sessions', async () => {
    const starts = await eventually(async () => {
      const events = await tc.cluster.server.audit.search({ type: 'db.session.start', task: proxy.ready.task.id });
      const apps = new Set(events.map((e) => e.client?.app));
      return ['auth-ok-pg', 'auth-ok-pgjs', 'auth-ok-psql', 'auth-ok-socket', 'auth-ok-raw'].every((a) => apps.has(a)) ? events : undefined;
    }, 'the session start events of the good clients');
    expect(starts.every((e) => e.identity?.name === 'demo-agent')).toBe(true);
  });
});

describe('a client without the secret is refused with 28P01 and nothing reaches the gateway', () => {
  test('node-postgres with a wrong password', async () => {
    refusedApps.push('wrong-pg');
    refusedAttempts++;
    await expect(pgCurrentUser(urlWithPassword('not-the-secret'), 'wrong-pg')).rejects.toMatchObject({ code: '28P01', severity: 'FATAL' });
  });

  test('postgres.js with a wrong password', async () => {
    refusedApps.push('wrong-pgjs');
    refusedAttempts++;
    const sql = postgres(urlWithPassword('not-the-secret'), { max: 1, fetch_types: false, onnotice: () => undefined, connection: { application_name: 'wrong-pgjs' } });
    try {
      await expect(sql`SELECT 1`).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await sql.end();
    }
  });

  test('psql with no password gives up at the password request; with a wrong one it reads the 28P01 error', async () => {
    refusedApps.push('none-psql', 'wrong-psql');
    refusedAttempts += 2;
    const none = await run('psql', psqlArgs('127.0.0.1', 'none-psql'), psqlEnv({ PGAPPNAME: 'none-psql' }));
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no password supplied/);
    const wrong = await run('psql', psqlArgs('127.0.0.1', 'wrong-psql'), psqlEnv({ PGAPPNAME: 'wrong-psql', PGPASSWORD: 'not-the-secret' }));
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed for user "app_rw"/);
  });

  test('a raw client that answers the SASL request with an empty cleartext password gets 28P01 and a closed connection', async () => {
    refusedApps.push('raw-empty');
    refusedAttempts++;
    const w = await Wire.plain({ host: proxy.ready.host, port: proxy.ready.port });
    try {
      w.send(startupMessage({ user: 'app_rw', database: tc.database, application_name: 'raw-empty' }));
      const ask = await w.next();
      expect(ask.type).toBe('R');
      expect(ask.raw.readInt32BE(5)).toBe(10); // AuthenticationSASL
      expect(ask.raw.toString('utf8', 9)).toContain('SCRAM-SHA-256');
      w.send(passwordMessage(''));
      const err = await w.next();
      expect(err.type).toBe('E');
      expect(errorOf(err)).toMatchObject({ severity: 'FATAL', code: '28P01' });
      await w.closed;
    } finally {
      w.close();
    }
  });

  test.skipIf(process.getuid?.() !== 0)('another local user (nobody) is refused over TCP without the secret, and cannot reach the unix socket at all', async () => {
    refusedApps.push('nobody-tcp');
    refusedAttempts++;
    const asNobody = (args: string[], env: Record<string, string>) =>
      run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'psql', ...args], psqlEnv(env));
    const tcp = await asNobody(psqlArgs('127.0.0.1', 'nobody-tcp'), { PGAPPNAME: 'nobody-tcp' });
    expect(tcp.code).not.toBe(0);
    expect(tcp.stderr).toMatch(/no password supplied/);
    // Even with the secret, the 0700 directory keeps the socket out of another user's reach.
    const unix = await asNobody(psqlArgs(socketDir, 'nobody-socket'), { PGAPPNAME: 'nobody-socket', PGPASSWORD: proxy.ready.password });
    refusedApps.push('nobody-socket');
    expect(unix.code).not.toBe(0);
    expect(unix.stderr).toMatch(/Permission denied/);
    // The control: as nobody, psql itself works and reaches the proxy; it is the secret that was missing above.
    const withSecret = await asNobody(psqlArgs('127.0.0.1', 'nobody-with-secret'), { PGAPPNAME: 'nobody-with-secret', PGPASSWORD: proxy.ready.password });
    expect(withSecret.stderr).toBe('');
    expect(withSecret.stdout.trim()).toBe('app_rw');
  });

  test('the refusals are in the audit log as db.session.denied for the task; none of them opened a gateway session', async () => {
    const denied = await eventually(async () => {
      const events = (await tc.cluster.server.audit.search({ type: 'db.session.denied', task: proxy.ready.task.id })).filter((e) => e.message === 'local client failed proxy authentication');
      const attempts = events.reduce((n, e) => n + Number(e.details?.attempts ?? 0), 0);
      return attempts >= refusedAttempts ? events : undefined;
    }, `${refusedAttempts} refused local clients in the audit log`);
    for (const e of denied) {
      expect(e).toMatchObject({ code: 'ADB00W', identity: { name: 'demo-agent' }, task: { id: proxy.ready.task.id, reason: TASK }, db: { service: 'customers' } });
      expect(e.client?.addr).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(String(e.details?.reason)).not.toContain(proxy.ready.password);
    }
    const all = await tc.cluster.server.audit.search({ task: proxy.ready.task.id, limit: 10_000 });
    const gatewaySide = all.filter((e) => e.type.startsWith('db.session.') && e.sid !== undefined);
    expect(gatewaySide.length).toBeGreaterThan(0); // the good clients' sessions are there, so the filter below sees real events
    for (const app of refusedApps) expect(gatewaySide.filter((e) => e.client?.app === app), `a gateway session for ${app}`).toEqual([]);
    // After all that, the proxy still serves a client that knows the secret.
    expect(await pgCurrentUser(proxy.ready.url, 'auth-ok-after')).toBe('app_rw');
  });
});

describe('agentdb exec passes the secret to its child', () => {
  test('psql under exec connects with PGPASSWORD, node-postgres with DATABASE_URL', async () => {
    const viaPsql = await agentdb(home, ['exec', '--db', 'customers', '--task', 'exec auth', '--', 'psql', '-X', '-w', '-A', '-t', '-c', 'select current_user'], { PGPASSFILE: '/dev/null' });
    expect(viaPsql.code, viaPsql.stderr).toBe(0);
    expect(viaPsql.stdout.trim()).toBe('app_rw');
    const script = "const pg=require('pg');const c=new pg.Client({connectionString:process.env.DATABASE_URL});c.connect().then(()=>c.query('select current_user u')).then((r)=>{process.stdout.write(r.rows[0].u);return c.end()})";
    const viaNode = await agentdb(home, ['exec', '--db', 'customers', '--task', 'exec auth', '--', process.execPath, '-e', script]);
    expect(viaNode.code, viaNode.stderr).toBe(0);
    expect(viaNode.stdout).toBe('app_rw');
  });
});

describe('the text output', () => {
  test('prints a psql line whose url carries the secret, and it works as pasted', async () => {
    const proc = new CliProcess(home, ['proxy', '--db', 'customers', '--task', 'text output']);
    try {
      const url = (await proc.waitForLine(/^\s+psql "(postgres:\/\/[^"]+)"$/))[1]!;
      expect(decodeURIComponent(new URL(url).password)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(decodeURIComponent(new URL(url).password)).not.toBe(proxy.ready.password); // one secret per proxy
      expect(await pgCurrentUser(url, 'auth-ok-text')).toBe('app_rw');
    } finally {
      await proc.stop();
    }
  });
});

describe('--socket refuses a directory other users can open', () => {
  test('an existing 0755 directory is refused with a clear message, and left as it was', async () => {
    const open = path.join(scratch, 'open');
    await mkdir(open);
    await chmod(open, 0o755);
    const r = await agentdb(home, ['proxy', '--db', 'customers', '--task', 'open socket dir', '--socket', open]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--socket .* must be a directory of yours that only you can open \(it is mode 755/);
    expect((await stat(open)).mode & 0o777).toBe(0o755);
    expect(await readdir(open)).toEqual([]);
  });
});

describe('the secret stays on this machine', () => {
  test('the proxy secret is in no audit event, no store file and not in the proxy\'s stderr', async () => {
    const { password } = proxy.ready;
    const events = await tc.cluster.server.audit.search({ limit: 10_000 });
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain(password);
    const dbFiles = (await readdir(tc.dataDir)).filter((f) => f.startsWith('agentdb.db')).map((f) => path.join(tc.dataDir, f));
    expect(dbFiles.length).toBeGreaterThan(0);
    for (const f of dbFiles) expect((await readFile(f)).includes(password), f).toBe(false);
    expect(proxy.proc.stderr).not.toContain(password);
  });
});
