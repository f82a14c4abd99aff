// The server side of SCRAM-SHA-256 (what `agentdb proxy` asks of local clients), against our own client and
// against hand-made client messages: a wrong password, a replayed or altered exchange, unsupported options.
import { describe, expect, test } from 'vitest';
import {
  MessageFramer,
  PgwireErrorCode,
  SCRAM_SHA_256,
  ScramSha256Client,
  ScramSha256Server,
  SqlState,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  readAuthentication,
  readSaslInitialResponse,
  readSaslResponse,
  saslInitialResponse,
  saslResponse,
  scramSecret,
} from '../../src/pgwire/index.js';
import { expectPgwireError } from '../helpers/pgwire-expect.js';

const secret = scramSecret('correct horse', Buffer.from('0123456789abcdef'), 4096);

function exchange(password: string, edit: (final: string) => string = (f) => f): { server: ScramSha256Server; client: ScramSha256Client; run: () => Buffer } {
  const client = new ScramSha256Client(password);
  const server = new ScramSha256Server(secret);
  return {
    client,
    server,
    run: () => {
      const first = server.serverFirstMessage(client.clientFirstMessage());
      return server.serverFinalMessage(Buffer.from(edit(client.clientFinalMessage(first).toString())));
    },
  };
}

describe('ScramSha256Server', () => {
  test('a client that knows the password is accepted, and it verifies the server in turn', () => {
    const { client, run } = exchange('correct horse');
    const final = run();
    expect(final.toString()).toMatch(/^v=[A-Za-z0-9+/]+=*$/);
    expect(() => client.verifyServerFinal(final)).not.toThrow();
  });

  test('the server-first-message extends the client nonce and names the salt and rounds', () => {
    const client = new ScramSha256Client('x', Buffer.from('client-nonce'));
    const first = new ScramSha256Server(secret, Buffer.from('server-nonce')).serverFirstMessage(client.clientFirstMessage()).toString();
    expect(first).toBe(`r=${Buffer.from('client-nonce').toString('base64')}${Buffer.from('server-nonce').toString('base64')},s=${Buffer.from('0123456789abcdef').toString('base64')},i=4096`);
  });

  test('a wrong password is refused with 28P01', () => {
    const err = expectPgwireError(() => exchange('wrong horse').run(), PgwireErrorCode.SCRAM_BAD_PROOF);
    expect(err.sqlState).toBe(SqlState.INVALID_PASSWORD);
  });

  test('an empty, truncated or non-base64 proof is refused as a wrong password', () => {
    for (const proof of ['', 'AAAA', '!!!!', 'A'.repeat(44)]) {
      expectPgwireError(() => exchange('correct horse', (f) => f.replace(/p=.*$/, `p=${proof}`)).run(), PgwireErrorCode.SCRAM_BAD_PROOF);
    }
  });

  test('an altered nonce or channel-binding attribute is refused', () => {
    expectPgwireError(() => exchange('correct horse', (f) => f.replace(/r=([^,]*)/, 'r=$1x')).run(), PgwireErrorCode.SCRAM_PROTOCOL, /nonce/);
    expectPgwireError(() => exchange('correct horse', (f) => f.replace(/^c=[^,]*/, 'c=eSws')).run(), PgwireErrorCode.SCRAM_PROTOCOL, /channel binding/);
    expectPgwireError(() => exchange('correct horse', (f) => f.replace(/,p=.*$/, '')).run(), PgwireErrorCode.SCRAM_PROTOCOL, /no proof/);
  });

  test('a proof from one exchange does not pass in another (fresh server nonce each time)', () => {
    const a = exchange('correct horse');
    const clientFinal = a.client.clientFinalMessage(a.server.serverFirstMessage(a.client.clientFirstMessage()));
    const replayed = new ScramSha256Server(secret);
    replayed.serverFirstMessage(Buffer.from(`n,,n=,r=${clientFinal.toString().match(/r=([^,]*)/)![1]!.slice(0, 24)}`));
    expectPgwireError(() => replayed.serverFinalMessage(clientFinal), PgwireErrorCode.SCRAM_PROTOCOL, /nonce/);
  });

  test('channel binding, authorization identities and mandatory extensions are refused; "y" is accepted', () => {
    const server = () => new ScramSha256Server(secret);
    expectPgwireError(() => server().serverFirstMessage(Buffer.from('p=tls-server-end-point,,n=,r=abc')), PgwireErrorCode.SCRAM_PROTOCOL, /channel binding/);
    expectPgwireError(() => server().serverFirstMessage(Buffer.from('n,a=admin,n=,r=abc')), PgwireErrorCode.SCRAM_PROTOCOL, /authorization identity/);
    expectPgwireError(() => server().serverFirstMessage(Buffer.from('n,,m=ext,n=,r=abc')), PgwireErrorCode.SCRAM_PROTOCOL, /extension/);
    expectPgwireError(() => server().serverFirstMessage(Buffer.from('')), PgwireErrorCode.SCRAM_PROTOCOL);
    expectPgwireError(() => server().serverFirstMessage(Buffer.from('n,,n=,r=')), PgwireErrorCode.SCRAM_PROTOCOL, /nonce/);
    expect(server().serverFirstMessage(Buffer.from('y,,n=,r=abc')).toString()).toMatch(/^r=abc/);
  });

  test('steps out of order are refused', () => {
    expectPgwireError(() => new ScramSha256Server(secret).serverFinalMessage(Buffer.from('c=biws,r=x,p=AAAA')), PgwireErrorCode.SCRAM_PROTOCOL, /out of order/);
  });

  test('the secret holds no password, and bad parameters are refused', () => {
    expect(JSON.stringify(secret)).not.toContain('correct horse');
    expectPgwireError(() => scramSecret('x', Buffer.alloc(0)), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => scramSecret('x', Buffer.from('salt'), 0), PgwireErrorCode.BAD_ARGUMENT);
  });
});

describe('the SASL messages a server sends and reads', () => {
  const framed = (buf: Buffer) => {
    const out: [number, Buffer, number, number][] = [];
    new MessageFramer().feed(buf, (t, b, o, l) => out.push([t, b, o, l]));
    expect(out).toHaveLength(1);
    return out[0]!;
  };

  test('AuthenticationSASL, SASLContinue and SASLFinal read back as the client decoder sees them', () => {
    const [, b1, o1, l1] = framed(authenticationSasl([SCRAM_SHA_256]));
    expect(readAuthentication(b1, o1, l1)).toEqual({ kind: 'sasl', mechanisms: [SCRAM_SHA_256] });
    const [, b2, o2, l2] = framed(authenticationSaslContinue(Buffer.from('r=abc')));
    expect(readAuthentication(b2, o2, l2)).toEqual({ kind: 'sasl-continue', data: Buffer.from('r=abc') });
    const [, b3, o3, l3] = framed(authenticationSaslFinal(Buffer.from('v=xyz')));
    expect(readAuthentication(b3, o3, l3)).toEqual({ kind: 'sasl-final', data: Buffer.from('v=xyz') });
  });

  test('SASLInitialResponse and SASLResponse read back as the client builders wrote them', () => {
    const [, b1, o1, l1] = framed(saslInitialResponse(SCRAM_SHA_256, Buffer.from('n,,n=,r=abc')));
    expect(readSaslInitialResponse(b1, o1, l1)).toEqual({ mechanism: SCRAM_SHA_256, data: Buffer.from('n,,n=,r=abc') });
    const [, b2, o2, l2] = framed(saslResponse(Buffer.from('c=biws,r=abc,p=xyz')));
    expect(readSaslResponse(b2, o2, l2)).toEqual(Buffer.from('c=biws,r=abc,p=xyz'));
  });

  test('a SASLInitialResponse whose data length overruns the message is malformed', () => {
    const msg = saslInitialResponse(SCRAM_SHA_256, Buffer.from('abc'));
    msg.writeInt32BE(100, 5 + SCRAM_SHA_256.length + 1);
    const [, b, o, l] = framed(msg);
    expectPgwireError(() => readSaslInitialResponse(b, o, l));
  });
});
