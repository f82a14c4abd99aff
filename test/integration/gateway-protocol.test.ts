// The gateway as a PostgreSQL endpoint, byte by byte: protocol versions 3.0/3.2 and their negotiation, direct
// TLS, the buffer-stuffing guard, malformed messages (which end one session, never the server), a pipelined
// extended-protocol batch, cancels (through `agentdb proxy` and with a 3.2 key) and what pg_stat_activity shows.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import pg from 'pg';
import postgres from 'postgres';
import { serialize } from 'pg-protocol';
import { cancelRequest, sslRequest, startupMessage } from '../../src/pgwire/index.js';
import type { CertificateAuthority } from '../../src/ca/index.js';
import { startProxyCli, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { loginAlice } from '../helpers/cluster.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert, type ClientCert } from '../helpers/task-certs.js';
import { Wire, errorOf, queryBytes, rowsOf, typedMessage, type WireMessage } from '../helpers/wire.js';

let tc: TestCluster;
let userCa: CertificateAuthority;
let cert: ClientCert;
let admin: pg.Client;

beforeAll(async () => {
  tc = await startTestCluster('gwproto');
  userCa = await clusterUserCa(tc);
  cert = await issueTaskCert(tc, userCa, { identity: 'wire-tester' });
  admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await tc?.close();
});

const gw = () => tc.cluster.info.gateway;
const login = () => ({ user: 'app_rw', database: tc.database });
const types = (ms: WireMessage[]) => ms.map((m) => m.type).join('');

/** A logged-in raw session over TLS with the suite's certificate. */
async function session(minor = 0): Promise<Wire> {
  const w = await Wire.tls(gw(), cert);
  const a = await w.startup(login(), minor);
  expect(a.error).toBeUndefined();
  return w;
}

/** Proof that the gateway still serves: a new session answers a query. */
async function expectGatewayServes(): Promise<void> {
  const w = await session();
  expect(rowsOf(await w.query('SELECT 41 + 1'))).toEqual([['42']]);
  w.close();
}

describe('protocol versions', () => {
  test('3.2: BackendKeyData carries a 32-byte secret, no NegotiateProtocolVersion, queries work', async () => {
    const w = await Wire.tls(gw(), cert);
    const a = await w.startup(login(), 2);
    expect(a.error).toBeUndefined();
    expect(a.negotiate).toBeUndefined();
    expect(a.messages[0]!.type).toBe('R');
    expect(a.key?.secret.length).toBe(32);
    expect(rowsOf(await w.query("SELECT 'three point two'"))).toEqual([['three point two']]);
    w.close();
  });

  test('3.0: a 4-byte secret', async () => {
    const w = await Wire.tls(gw(), cert);
    const a = await w.startup(login(), 0);
    expect(a.error).toBeUndefined();
    expect(a.negotiate).toBeUndefined();
    expect(a.key?.secret.length).toBe(4);
    w.close();
  });

  test('3.9 is answered with NegotiateProtocolVersion(3.2), then works as 3.2', async () => {
    const w = await Wire.tls(gw(), cert);
    const a = await w.startup(login(), 9);
    expect(a.error).toBeUndefined();
    expect(a.negotiate).toEqual({ newestMinor: 2, unrecognized: [] });
    expect(a.messages[0]!.type).toBe('v');
    expect(a.key?.secret.length).toBe(32);
    expect(rowsOf(await w.query('SELECT 9'))).toEqual([['9']]);
    w.close();
  });

  test('a _pq_. protocol option is listed as unrecognized, and the session works', async () => {
    const w = await Wire.tls(gw(), cert);
    const a = await w.startup({ ...login(), '_pq_.something': 'on' }, 2);
    expect(a.error).toBeUndefined();
    expect(a.negotiate).toEqual({ newestMinor: 2, unrecognized: ['_pq_.something'] });
    expect(rowsOf(await w.query('SELECT 1'))).toEqual([['1']]);
    w.close();
  });

  test.each([
    [2, 0],
    [4, 0],
  ])('protocol %i.%i is refused with a clear error', async (major, minor) => {
    const w = await Wire.tls(gw(), cert);
    w.send(startupWithVersion(major, minor, login()));
    const m = await w.next();
    expect(m.type).toBe('E');
    const e = errorOf(m);
    expect(e.severity).toBe('FATAL');
    expect(e.code).toBe('0A000');
    expect(e.message).toMatch(new RegExp(`unsupported frontend protocol ${major}\\.${minor}`));
    await w.closed;
  });
});

describe('TLS negotiation', () => {
  test('direct TLS (sslnegotiation=direct) with ALPN "postgresql" works', async () => {
    const w = await Wire.tls(gw(), cert, { direct: true });
    expect((w.socket as tls.TLSSocket).alpnProtocol).toBe('postgresql');
    const a = await w.startup(login(), 2);
    expect(a.error).toBeUndefined();
    expect(rowsOf(await w.query("SELECT 'direct'"))).toEqual([['direct']]);
    w.close();
  });

  test('direct TLS without ALPN is refused with 08P01, before any startup is read', async () => {
    const w = await Wire.tls(gw(), cert, { direct: true, alpn: [] });
    w.send(startupMessage(login(), 2));
    const m = await w.next();
    expect(m.type).toBe('E');
    expect(errorOf(m)).toMatchObject({ severity: 'FATAL', code: '08P01', message: expect.stringMatching(/without ALPN protocol "postgresql"/) });
    await w.closed;
  });

  test('direct TLS offering only other ALPN protocols is refused in the handshake', async () => {
    await expect(Wire.tls(gw(), cert, { direct: true, alpn: ['http/1.1'] })).rejects.toThrow(/alert|ALPN|socket|reset|closed/i);
  });

  test("GSSENCRequest is declined with 'N', and SSLRequest on the same connection then works (libpq's gssencmode=prefer)", async () => {
    const raw = net.connect({ host: gw().host, port: gw().port });
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });
    const answer = () => new Promise<string>((resolve) => raw.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    raw.write(gssencRequest());
    expect(await answer()).toBe('N');
    raw.write(sslRequest());
    expect(await answer()).toBe('S');
    const secure = tls.connect({ socket: raw, ca: cert.serverCaPem, cert: cert.certPem, key: cert.keyPem });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    expect(secure.authorized).toBe(true);
    secure.destroy();
  });

  test('bytes after SSLRequest, before the TLS handshake, are refused (buffer stuffing)', async () => {
    const w = await Wire.plain(gw());
    w.send(sslRequest(), startupMessage(login()), queryBytes('SELECT 1'));
    const m = await w.next();
    expect(m.type).toBe('E');
    const e = errorOf(m);
    expect(e.code).toBe('08P01');
    expect(e.message).toMatch(/unexpected data after SSLRequest/);
    await w.closed;
  });
});

describe('malformed messages after login end that session only', () => {
  const cases: [string, () => Buffer][] = [
    ['a length below 4', () => typedMessage('Q', Buffer.from('SELECT 1\0'), 2)],
    ['a 2 GB length', () => Buffer.concat([typedMessage('Q', Buffer.alloc(0), 0x7fffffff), Buffer.from('SELECT 1\0')])],
    ['a negative (>= 2^31) length', () => typedMessage('Q', Buffer.from('SELECT 1\0'), 0x80000000)],
    ['a Query whose text has no terminator', () => typedMessage('Q', Buffer.from('SELECT 1'))],
    ['a truncated Bind (announces 5 parameters, carries one)', () => {
      const body = Buffer.concat([Buffer.from('\0\0'), u16(0), u16(5), i32(1), Buffer.from('x')]);
      return typedMessage('B', body);
    }],
    ['a truncated Parse (no statement text)', () => typedMessage('P', Buffer.from('stmt\0'))],
    ['garbage in an Execute', () => typedMessage('E', Buffer.from([0xff, 0xfe, 0xfd]))],
    ['a message type that does not exist', () => typedMessage('\x01', Buffer.from('junk junk'))],
  ];

  test.each(cases)('%s: 08P01, the session ends, the gateway keeps serving others', async (_name, bytes) => {
    const bystander = await session();
    const w = await session();
    w.send(bytes());
    const answer = await w.until('EZ');
    const last = answer.at(-1)!;
    expect(last.type, `expected an error, got ${types(answer)}`).toBe('E');
    const e = errorOf(last);
    expect(e.code).toBe('08P01');
    expect(e.severity).toBe('FATAL');
    await w.closed;
    // The session that was open all along still works, and a new one can be opened.
    expect(rowsOf(await bystander.query('SELECT 2'))).toEqual([['2']]);
    bystander.close();
    await expectGatewayServes();
  });

  test('malformed startup packets inside TLS are refused and the gateway keeps serving', async () => {
    const bad: Buffer[] = [
      Buffer.concat([i32(100_000), i32(196608)]), // far longer than a startup packet may be
      Buffer.concat([i32(12), i32(196608), Buffer.from('user')]), // parameter without terminator
      Buffer.concat([i32(8), i32(80877103)]), // SSLRequest again, inside TLS
    ];
    for (const b of bad) {
      const w = await Wire.tls(gw(), cert);
      w.send(b);
      const m = await w.next();
      expect(m.type).toBe('E');
      expect(errorOf(m).severity).toBe('FATAL');
      expect(errorOf(m).code).toBe('08P01');
      await w.closed;
    }
    await expectGatewayServes();
  });
});

describe('sessions', () => {
  test('a query pipelined in the same write as the startup packet runs once the session is open', async () => {
    const w = await Wire.tls(gw(), cert);
    w.send(startupMessage(login(), 2), queryBytes("SELECT 'early bird'"));
    const hello = await w.until('ZE');
    expect(types(hello).endsWith('KZ')).toBe(true);
    expect(rowsOf(await w.until('Z'))).toEqual([['early bird']]);
    w.close();
  });

  test('large messages both ways (8 MB parameter in, 8 MB value out) cross intact', async () => {
    const w = await session(2);
    const big = 'abcdefgh'.repeat(1024 * 1024);
    w.send(Buffer.concat([
      serialize.parse({ text: 'SELECT length($1::text) AS n, md5($1::text) AS h' }),
      serialize.bind({ values: [big] }),
      serialize.execute({}),
      serialize.sync(),
    ]));
    expect(rowsOf(await w.until('Z'))).toEqual([[String(big.length), createHash('md5').update(big).digest('hex')]]);
    const out = rowsOf(await w.query("SELECT repeat('xyz', 3 * 1024 * 1024)"));
    expect(out[0]![0]!.length).toBe(9 * 1024 * 1024);
    expect(out[0]![0]!.replaceAll('xyz', '')).toBe('');
    w.close();
  });

  // An idle session outliving the authentication deadline: gateway-limits.test.ts, with a deadline of its own.
});

describe('random bytes never take the gateway down', () => {
  // Seeded, so a failure can be replayed. Typed messages with random bodies reach the decoders; pure noise
  // reaches the framers. The outcome for the sender may be an error, a closed connection or silence (a
  // length still waiting for its bytes); for everyone else the gateway must go on serving.
  const rand = xorshift(0x5eed1234);
  const noise = (n: number) => Buffer.from(Array.from({ length: n }, () => rand() & 0xff));
  const typed = () => {
    const t = 'QPBDECSHFXdcfp'[rand() % 14]!;
    const body = noise(rand() % 48);
    return typedMessage(t, body);
  };

  test('as the first bytes of a connection, as a startup packet inside TLS, and as messages after login', async () => {
    for (let i = 0; i < 20; i++) {
      const w = await Wire.plain(gw());
      w.send(noise(1 + (rand() % 64)));
      w.socket.end();
      await Promise.race([w.closed, new Promise((r) => setTimeout(r, 2000))]);
      w.close();
    }
    for (let i = 0; i < 20; i++) {
      const w = await Wire.tls(gw(), cert);
      const len = 8 + (rand() % 64);
      w.send(Buffer.concat([i32(len), noise(len - 4)]));
      w.socket.end();
      await Promise.race([w.closed, new Promise((r) => setTimeout(r, 2000))]);
      w.close();
    }
    for (let i = 0; i < 30; i++) {
      const w = await session(rand() % 2 === 0 ? 0 : 2);
      w.send(...Array.from({ length: 1 + (rand() % 4) }, () => (rand() % 3 === 0 ? noise(1 + (rand() % 32)) : typed())));
      w.send(serialize.sync());
      await Promise.race([w.closed, new Promise((r) => setTimeout(r, 1000))]);
      w.close();
    }
    await expectGatewayServes();
  }, 120_000);
});

describe('extended protocol', () => {
  test('a pipelined batch (Parse/Bind/Describe/Execute x3 + Sync in one write) gets correct results', async () => {
    const w = await session(2);
    const batch = Buffer.concat([
      serialize.parse({ name: 's1', text: 'SELECT $1::int + 1 AS n', types: [23] }),
      serialize.bind({ statement: 's1', portal: 'p1', values: ['41'] }),
      serialize.describe({ type: 'P', name: 'p1' }),
      serialize.execute({ portal: 'p1' }),
      serialize.parse({ name: '', text: 'SELECT name FROM customers WHERE id = $1', types: [23] }),
      serialize.bind({ statement: '', portal: '', values: ['7'] }),
      serialize.describe({ type: 'P', name: '' }),
      serialize.execute({ portal: '' }),
      serialize.parse({ name: 's3', text: 'SELECT g FROM generate_series(1, $1::int) g', types: [23] }),
      serialize.bind({ statement: 's3', portal: 'p3', values: ['3'] }),
      serialize.describe({ type: 'P', name: 'p3' }),
      serialize.execute({ portal: 'p3' }),
      serialize.sync(),
    ]);
    w.send(batch);
    const answer = await w.until('Z');
    expect(types(answer)).toBe('12TDC' + '12TDC' + '12TDDDC' + 'Z');
    const expected = (await admin.query('SELECT name FROM customers WHERE id = 7')).rows[0].name as string;
    expect(rowsOf(answer)).toEqual([['42'], [expected], ['1'], ['2'], ['3']]);
    const tags = answer.filter((m) => m.type === 'C').map((m) => m.raw.toString('utf8', 5, m.raw.length - 1));
    expect(tags).toEqual(['SELECT 1', 'SELECT 1', 'SELECT 3']);
    // The named statement stays usable after the batch.
    w.send(Buffer.concat([serialize.bind({ statement: 's1', values: ['1'] }), serialize.execute({}), serialize.sync()]));
    expect(rowsOf(await w.until('Z'))).toEqual([['2']]);
    w.close();
  });
});

describe('cancel', () => {
  test('postgres.js query.cancel() through agentdb proxy cancels pg_sleep(30) with 57014', async () => {
    // A person: the agent policy refuses pg_sleep.
    const home = await tc.newHome();
    await loginAlice(tc, home);
    const { proc, ready } = await startProxyCli(home, ['--db', 'customers', '--db-user', 'app_rw', '--task', 'cancel test']);
    const sql = postgres(ready.url, { max: 1, fetch_types: false, onnotice: () => undefined });
    try {
      await sql`SELECT 1`;
      const started = Date.now();
      const q = sql`SELECT pg_sleep(30)`;
      const outcome = q.then(() => 'finished', (err: { code?: string }) => err);
      await waitForActive('SELECT pg_sleep(30)');
      q.cancel();
      const err = await outcome;
      expect(err).toMatchObject({ code: '57014' });
      expect(Date.now() - started).toBeLessThan(20_000);
      // The session is still good after the cancel.
      expect((await sql`SELECT 'after' AS v`)[0]!.v).toBe('after');
    } finally {
      await sql.end({ timeout: 5 });
      await proc.stop();
    }
  });

  test('a 3.2 cancel key (32 bytes) cancels; a wrong secret does not', async () => {
    const w = await Wire.tls(gw(), cert);
    const a = await w.startup(login(), 2);
    const key = a.key!;
    const started = Date.now();
    w.send(queryBytes("SELECT pg_sleep(30) AS /* proto32 */ slept"));
    await waitForActive('proto32');

    const wrong = Buffer.from(key.secret);
    wrong[0] = wrong[0]! ^ 0xff;
    const c1 = await Wire.tls(gw(), cert);
    c1.send(cancelRequest(key.pid, wrong));
    await c1.closed;
    await new Promise((r) => setTimeout(r, 500));
    expect((await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%proto32%' AND pid <> pg_backend_pid()")).rows[0].n).toBe(1);

    const c2 = await Wire.tls(gw(), cert);
    c2.send(cancelRequest(key.pid, key.secret));
    const answer = await w.until('Z');
    const err = answer.find((m) => m.type === 'E');
    expect(err && errorOf(err)).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
    expect(Date.now() - started).toBeLessThan(20_000);
    c2.close();
    w.close();
  });
});

describe('cancel without TLS', () => {
  test('a 3.0 cancel key sent in plaintext (as libpq sends it) cancels', async () => {
    const w = await Wire.tls(gw(), cert);
    const key = (await w.startup(login(), 0)).key!;
    expect(key.secret.length).toBe(4);
    w.send(queryBytes('SELECT pg_sleep(30) AS /* plain30 */ slept'));
    await waitForActive('plain30');
    const c = await Wire.plain(gw());
    c.send(cancelRequest(key.pid, key.secret));
    await c.closed;
    const err = (await w.until('Z')).find((m) => m.type === 'E');
    expect(err && errorOf(err).code).toBe('57014');
    w.close();
  });
});

describe('pg_stat_activity', () => {
  test('the backend connection keeps what the client calls itself in front of the gateway\'s tag "[agentdb <sid>]", which it cannot remove', async () => {
    const client = gatewayPgClient(tc, cert, { application_name: 'pretending-to-be-someone-else' });
    await client.connect();
    try {
      const own = await client.query('SELECT pg_backend_pid() AS pid, application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()');
      const { pid, application_name: app } = own.rows[0] as { pid: number; application_name: string };
      // 63 bytes: the client's name is cut to what fits before the tag.
      const m = /^pretending-to-be \[agentdb ([0-9a-f-]{36})\]$/.exec(app);
      expect(m, app).not.toBeNull();
      const seen = await admin.query('SELECT application_name, usename FROM pg_stat_activity WHERE pid = $1', [pid]);
      expect(seen.rows[0]).toEqual({ application_name: app, usename: 'app_rw' });
      // The sid is the session's id in the audit log.
      const starts = await tc.cluster.server.audit.search({ sid: m![1]!, type: 'db.session.start' });
      expect(starts.length).toBe(1);
      expect(starts[0]!.identity?.name).toBe('wire-tester');
      // What the client called itself is kept whole for the audit log.
      expect(starts[0]!.client?.app).toBe('pretending-to-be-someone-else');
    } finally {
      await client.end();
    }
  });
});

async function waitForActive(fragment: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()", [`%${fragment}%`]);
    if (r.rows[0].n > 0) return;
    if (Date.now() > deadline) throw new Error(`no active query like ${fragment}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startupWithVersion(major: number, minor: number, params: Record<string, string>): Buffer {
  const b = startupMessage(params, 0);
  b.writeUInt16BE(major, 4);
  b.writeUInt16BE(minor, 6);
  return b;
}

/** xorshift32: small, fast and reproducible from its seed. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function gssencRequest(): Buffer {
  return Buffer.concat([i32(8), i32(80877104)]);
}

function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
