import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import pg from 'pg';
import {
  BackendType,
  MessageFramer,
  PgwireError,
  PgwireErrorCode,
  SCRAM_SHA_256,
  ScramSha256Client,
  cancelRequest,
  queryMessage,
  readAuthentication,
  readBackendKeyData,
  readCommandComplete,
  readDataRow,
  readErrorFields,
  readNegotiateProtocolVersion,
  readParameterStatus,
  readReadyForQuery,
  readRowDescription,
  saslInitialResponse,
  saslResponse,
  startupMessage,
  terminateMessage,
  type ErrorFields,
} from '../../src/pgwire/index.js';
import { expectPgwireError } from '../helpers/pgwire-expect.js';

// RFC 7677, section 3.
const RFC_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const RFC_SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const RFC_CLIENT_FINAL = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const RFC_SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

function rfcClient(): ScramSha256Client {
  return new ScramSha256Client('pencil', Buffer.from(RFC_NONCE, 'base64'), { username: 'user' });
}


describe('ScramSha256Client against RFC 7677', () => {
  test('the test vector: client-first, client-final proof, server signature', () => {
    const c = rfcClient();
    expect(c.clientFirstMessage().toString()).toBe(`n,,n=user,r=${RFC_NONCE}`);
    expect(c.clientFinalMessage(Buffer.from(RFC_SERVER_FIRST)).toString()).toBe(RFC_CLIENT_FINAL);
    expect(() => c.verifyServerFinal(Buffer.from(RFC_SERVER_FINAL))).not.toThrow();
  });

  test('PostgreSQL style: empty username, fresh 18-byte nonce', () => {
    const first = new ScramSha256Client('pencil').clientFirstMessage().toString();
    expect(first).toMatch(/^n,,n=,r=[A-Za-z0-9+/]{24}$/);
    expect(new ScramSha256Client('pencil').clientFirstMessage().toString()).not.toBe(first);
  });

  test('usernames are escaped (= and ,)', () => {
    expect(new ScramSha256Client('p', Buffer.from('abc'), { username: 'a=b,c' }).clientFirstMessage().toString()).toBe('n,,n=a=3Db=2Cc,r=YWJj');
  });

  test('a forged server signature is refused', () => {
    const c = rfcClient();
    c.clientFirstMessage();
    c.clientFinalMessage(Buffer.from(RFC_SERVER_FIRST));
    const forged = 'v=' + Buffer.alloc(32, 1).toString('base64');
    const err = expectPgwireError(() => c.verifyServerFinal(Buffer.from(forged)), PgwireErrorCode.SCRAM_SERVER_SIGNATURE, /may not be the intended/);
    expect(err.sqlState).toBe('08006');
  });

  test('a server that computed with another password is refused', () => {
    const c = new ScramSha256Client('not pencil', Buffer.from(RFC_NONCE, 'base64'), { username: 'user' });
    c.clientFirstMessage();
    expect(c.clientFinalMessage(Buffer.from(RFC_SERVER_FIRST)).toString()).not.toBe(RFC_CLIENT_FINAL);
    expectPgwireError(() => c.verifyServerFinal(Buffer.from(RFC_SERVER_FINAL)), PgwireErrorCode.SCRAM_SERVER_SIGNATURE);
  });

  test('a server error (e=) is reported as such', () => {
    const c = rfcClient();
    c.clientFirstMessage();
    c.clientFinalMessage(Buffer.from(RFC_SERVER_FIRST));
    expectPgwireError(() => c.verifyServerFinal(Buffer.from('e=invalid-proof')), PgwireErrorCode.SCRAM_SERVER_ERROR, /invalid-proof/);
  });

  test('malformed server-final messages', () => {
    for (const bad of ['', 'x=abc', 'v=not base64!', 'v=']) {
      const c = rfcClient();
      c.clientFirstMessage();
      c.clientFinalMessage(Buffer.from(RFC_SERVER_FIRST));
      expect(() => c.verifyServerFinal(Buffer.from(bad))).toThrow(PgwireError);
    }
  });

  const badServerFirsts: [string, string, RegExp][] = [
    ['a nonce that is not ours', 'r=somebodyElsesNonce123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', /does not extend our client nonce/],
    ['our nonce with nothing added', `r=${RFC_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /does not extend/],
    ['a nonce with a comma-free but unprintable tail', `r=${RFC_NONCE}\u0001,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /does not extend/],
    ['a salt that is not base64', `r=${RFC_NONCE}xyz,s=not*base64,i=4096`, /salt is not valid base64/],
    ['an empty salt', `r=${RFC_NONCE}xyz,s=,i=4096`, /salt/],
    ['iteration count 0', `r=${RFC_NONCE}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0`, /iteration count/],
    ['iteration count not a number', `r=${RFC_NONCE}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=lots`, /iteration count/],
    ['an absurd iteration count', `r=${RFC_NONCE}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=999999999`, /iteration count/],
    ['a mandatory extension', `m=ext,r=${RFC_NONCE}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /extension/],
    ['attributes out of order', `s=W22ZaJ0SNY7soEsUEjb6gQ==,r=${RFC_NONCE}xyz,i=4096`, /expected r=/],
    ['missing attributes', `r=${RFC_NONCE}xyz`, /expected r=/],
    ['garbage', '\u0000\u00ff', /expected r=/],
  ];
  for (const [name, serverFirst, message] of badServerFirsts) {
    test(`server-first with ${name} is refused`, () => {
      const c = rfcClient();
      c.clientFirstMessage();
      const err = expectPgwireError(() => c.clientFinalMessage(Buffer.from(serverFirst)), PgwireErrorCode.SCRAM_PROTOCOL, message);
      expect(err.sqlState).toBe('08006');
    });
  }

  test('iteration count 1 is accepted', () => {
    const c = rfcClient();
    c.clientFirstMessage();
    expect(c.clientFinalMessage(Buffer.from(`r=${RFC_NONCE}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1`)).toString()).toMatch(/^c=biws,r=.*,p=/);
  });

  test('steps out of order are refused', () => {
    expectPgwireError(() => rfcClient().clientFinalMessage(Buffer.from(RFC_SERVER_FIRST)), PgwireErrorCode.SCRAM_PROTOCOL, /out of order/);
    expectPgwireError(() => rfcClient().verifyServerFinal(Buffer.from(RFC_SERVER_FINAL)), PgwireErrorCode.SCRAM_PROTOCOL, /out of order/);
    const c = rfcClient();
    c.clientFirstMessage();
    expectPgwireError(() => c.clientFirstMessage(), PgwireErrorCode.SCRAM_PROTOCOL, /out of order/);
    c.clientFinalMessage(Buffer.from(RFC_SERVER_FIRST));
    c.verifyServerFinal(Buffer.from(RFC_SERVER_FINAL));
    expectPgwireError(() => c.verifyServerFinal(Buffer.from(RFC_SERVER_FINAL)), PgwireErrorCode.SCRAM_PROTOCOL, /complete/);
  });
});

// ---------------------------------------------------------------------------------------------------
// Against the real PostgreSQL: a minimal client made only of pgwire's builders, framer and decoders.

type Msg = { type: number; buf: Buffer };

class WireClient {
  private readonly framer = new MessageFramer();
  private readonly queue: Msg[] = [];
  private waiter: (() => void) | undefined;
  private closed: Error | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.framer.feed(chunk, (type, buf, offset, length) => {
        this.queue.push({ type, buf: Buffer.from(buf.subarray(offset, offset + length)) });
      });
      this.waiter?.();
    });
    const end = (err?: Error) => {
      this.closed ??= err ?? new Error('connection closed');
      this.waiter?.();
    };
    socket.on('error', end);
    socket.on('close', () => end());
  }

  static connect(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  send(...bufs: Buffer[]): void {
    for (const b of bufs) this.socket.write(b);
  }

  async next(timeoutMs = 15_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.closed) throw this.closed;
      if (Date.now() > deadline) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.end(terminateMessage());
  }
}

type LoginResult = {
  client: WireClient;
  error?: ErrorFields;
  negotiated?: { newestMinor: number; unrecognized: string[] };
  key?: { pid: number; secret: Buffer };
  params: Record<string, string>;
  mechanisms: string[];
};

async function login(port: number, user: string, password: string, minor = 0, extra: Record<string, string> = {}): Promise<LoginResult> {
  const client = await WireClient.connect(port);
  const result: LoginResult = { client, params: {}, mechanisms: [] };
  client.send(startupMessage({ user, database: 'postgres', ...extra }, minor));
  let scram: ScramSha256Client | undefined;
  for (;;) {
    const { type, buf } = await client.next();
    switch (type) {
      case BackendType.NegotiateProtocolVersion:
        result.negotiated = readNegotiateProtocolVersion(buf, 0, buf.length);
        break;
      case BackendType.Authentication: {
        const auth = readAuthentication(buf, 0, buf.length);
        if (auth.kind === 'sasl') {
          result.mechanisms = auth.mechanisms;
          scram = new ScramSha256Client(password);
          client.send(saslInitialResponse(SCRAM_SHA_256, scram.clientFirstMessage()));
        } else if (auth.kind === 'sasl-continue') {
          client.send(saslResponse(scram!.clientFinalMessage(auth.data)));
        } else if (auth.kind === 'sasl-final') {
          scram!.verifyServerFinal(auth.data);
        } else if (auth.kind !== 'ok') {
          throw new Error(`unexpected authentication request ${auth.kind}`);
        }
        break;
      }
      case BackendType.ErrorResponse:
        result.error = readErrorFields(buf, 0, buf.length);
        return result;
      case BackendType.BackendKeyData:
        result.key = readBackendKeyData(buf, 0, buf.length);
        break;
      case BackendType.ParameterStatus: {
        const p = readParameterStatus(buf, 0, buf.length);
        result.params[p.name] = p.value;
        break;
      }
      case BackendType.ReadyForQuery:
        expect(readReadyForQuery(buf, 0, buf.length)).toBe('I');
        return result;
      default:
        throw new Error(`unexpected message ${String.fromCharCode(type)} during login`);
    }
  }
}

/** Runs a simple query; returns the decoded response up to ReadyForQuery. */
async function simpleQuery(client: WireClient, sql: string) {
  client.send(queryMessage(sql));
  const out: { columns?: string[]; rows: (string | null)[][]; tag?: string; rowsCount?: number; error?: ErrorFields } = { rows: [] };
  for (;;) {
    const { type, buf } = await client.next();
    if (type === BackendType.RowDescription) out.columns = readRowDescription(buf, 0, buf.length).map((f) => f.name);
    else if (type === BackendType.DataRow) out.rows.push(readDataRow(buf, 0, buf.length).map((v) => (v === null ? null : v.toString())));
    else if (type === BackendType.CommandComplete) {
      const c = readCommandComplete(buf, 0, buf.length);
      out.tag = c.tag;
      out.rowsCount = c.rows;
    } else if (type === BackendType.ErrorResponse) out.error = readErrorFields(buf, 0, buf.length);
    else if (type === BackendType.ReadyForQuery) return out;
  }
}

describe('against the real PostgreSQL', () => {
  const url = new URL(inject('pgAdminUrl'));
  const port = Number(url.port);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const clients: WireClient[] = [];
  const track = (r: LoginResult) => {
    clients.push(r.client);
    return r;
  };
  afterAll(() => {
    for (const c of clients) c.close();
  });

  test('SCRAM login, select 1, DataRow and CommandComplete (protocol 3.0, 4-byte key)', async () => {
    const r = track(await login(port, user, password));
    expect(r.error).toBeUndefined();
    expect(r.mechanisms).toContain(SCRAM_SHA_256);
    expect(r.params.server_version).toMatch(/^18/);
    expect(r.key?.secret.length).toBe(4);
    const q = await simpleQuery(r.client, 'select 1 as one, null::text as nothing');
    expect(q).toEqual({ columns: ['one', 'nothing'], rows: [['1', null]], tag: 'SELECT 1', rowsCount: 1 });
    const e = await simpleQuery(r.client, 'select * from no_such_table');
    expect(e.error).toMatchObject({ severity: 'ERROR', code: '42P01' });
    expect(e.error?.position).toBe('15');
  });

  test('a wrong password gets ErrorResponse 28P01', async () => {
    const r = track(await login(port, user, password + 'x'));
    expect(r.error).toMatchObject({ severity: 'FATAL', code: '28P01' });
    expect(r.error?.message).toMatch(/password authentication failed/);
  });

  test('protocol 3.2 gets a 32-byte cancel key, and cancelRequest with it cancels a query', async () => {
    const r = track(await login(port, user, password, 2));
    expect(r.negotiated).toBeUndefined();
    expect(r.key?.secret.length).toBe(32);
    r.client.send(queryMessage('select pg_sleep(30)'));
    // A cancel that arrives before the query starts is a no-op, so keep sending until it lands.
    const sendCancel = () => net.connect(port, '127.0.0.1').end(cancelRequest(r.key!.pid, r.key!.secret));
    const timer = setInterval(sendCancel, 500);
    let error: ErrorFields | undefined;
    try {
      for (;;) {
        const { type, buf } = await r.client.next();
        if (type === BackendType.ErrorResponse) error = readErrorFields(buf, 0, buf.length);
        if (type === BackendType.ReadyForQuery) break;
      }
    } finally {
      clearInterval(timer);
    }
    expect(error?.code).toBe('57014');
    expect(error?.message).toMatch(/cancel/);
  });

  test('a startup asking for 3.9 and a _pq_ option gets NegotiateProtocolVersion (newest minor 2)', async () => {
    const r = track(await login(port, user, password, 9, { '_pq_.agentdb_test': 'on' }));
    expect(r.error).toBeUndefined();
    expect(r.negotiated).toEqual({ newestMinor: 2, unrecognized: ['_pq_.agentdb_test'] });
    expect(r.key?.secret.length).toBe(32);
  });

  describe('SASLprep: non-ASCII passwords derive the same key as the server', () => {
    const role = `pgwire_saslprep_${randomBytes(4).toString('hex')}`;
    // Fullwidth letters (NFKC folds them), a no-break space (mapped to space), a soft hyphen (removed).
    const fancy = 'ｐáss\u00A0wörd\u00AD!';
    let admin: pg.Client;
    beforeAll(async () => {
      admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
      await admin.connect();
      await admin.query(`create role ${role} login password ${admin.escapeLiteral(fancy)}`);
    });
    afterAll(async () => {
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    });

    test('the password as typed logs in', async () => {
      const r = track(await login(port, role, fancy));
      expect(r.error).toBeUndefined();
    });
    test('its SASLprep form logs in too, and a different one does not', async () => {
      expect(track(await login(port, role, 'páss wörd!')).error).toBeUndefined();
      expect(track(await login(port, role, 'páss wörd?')).error?.code).toBe('28P01');
    });
  });
});
