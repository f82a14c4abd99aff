// The gateway's own connection to PostgreSQL: it logs in with the credential only the gateway holds,
// so no client ever sees a database password.
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import {
  MessageFramer, ScramSha256Client, SqlState, md5PasswordHash, passwordMessage, readAuthentication, readBackendKeyData,
  readCommandComplete, readDataRow, readErrorFields, readNegotiateProtocolVersion, readParameterStatus, queryMessage, saslInitialResponse, saslResponse, sslRequest,
  startupMessage, type ErrorFields,
} from '../pgwire/index.js';
import { GatewayError, GatewayErrorCode } from './errors.js';

export interface BackendTarget {
  host: string;
  port: number;
  sslmode: 'disable' | 'require' | 'verify-full';
  sslRootCert?: string;
}

export interface BackendLogin {
  user: string;
  password: string;
  database: string;
  /** startup parameters to pass on (client_encoding, DateStyle, application_name...) */
  params: Record<string, string>;
  /** protocol minor version to ask for: 0 or 2 */
  minor: number;
}

export interface BackendConnection {
  socket: net.Socket;
  parameters: [string, string][];
  pid: number;
  secret: Buffer;
  /** the minor version the server settled on */
  minor: number;
}

/** An ErrorResponse from PostgreSQL during login; relayed with its SQLSTATE (never with the credential). */
export class BackendLoginError extends GatewayError {
  constructor(readonly fields: ErrorFields) {
    super(GatewayErrorCode.BACKEND_LOGIN, fields.message, fields.code, fields.detail, fields.hint);
  }
}

const CONNECT_TIMEOUT_MS = 10_000;

// One TLS context per database target, made on its first TLS connection and shared by every later one (sessions,
// the catalog, probes, cancels). A context made per connection (tls.connect with `ca`) was a file read and a
// parse each time, and held about 35 KB of native memory for as long as the connection lived. A new CA file is
// read on the server's next start.
const backendContexts = new WeakMap<BackendTarget, tls.SecureContext>();

function backendContext(target: BackendTarget): tls.SecureContext {
  let context = backendContexts.get(target);
  if (context === undefined) {
    context = tls.createSecureContext(target.sslRootCert ? { ca: readFileSync(target.sslRootCert) } : {});
    backendContexts.set(target, context);
  }
  return context;
}

async function openSocket(target: BackendTarget): Promise<net.Socket> {
  const raw = net.connect({ host: target.host, port: target.port, noDelay: true });
  // events.once removes both of its listeners when it settles: a listener left on the socket would keep its
  // closure (and the promise's) for as long as the session that gets the socket lives.
  const timer = setTimeout(() => raw.destroy(new Error(`timed out after ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  await once(raw, 'connect').catch((err: Error) => {
    throw new GatewayError(GatewayErrorCode.BACKEND_UNREACHABLE, `database ${target.host}:${target.port} is unreachable: ${err.message}`);
  }).finally(() => clearTimeout(timer));
  if (target.sslmode === 'disable') return raw;
  raw.write(sslRequest());
  const [answer] = (await once(raw, 'data')) as [Buffer];
  if (answer[0] !== 0x53 /* S */) {
    raw.destroy();
    throw new GatewayError(GatewayErrorCode.BACKEND_TLS, `database ${target.host}:${target.port} does not offer TLS but sslmode is ${target.sslmode}`);
  }
  const secure = tls.connect({
    socket: raw,
    servername: net.isIP(target.host) ? undefined : target.host,
    rejectUnauthorized: target.sslmode === 'verify-full',
    secureContext: backendContext(target),
  });
  await once(secure, 'secureConnect').catch((err: Error) => {
    throw new GatewayError(GatewayErrorCode.BACKEND_TLS, `TLS to database ${target.host}:${target.port} failed: ${err.message}`);
  });
  secure.setNoDelay(true);
  return secure;
}

/** Connects and logs in (SCRAM-SHA-256, or md5/cleartext where the server asks and TLS is on), up to ReadyForQuery. */
export async function connectBackend(target: BackendTarget, login: BackendLogin): Promise<BackendConnection> {
  const socket = await openSocket(target);
  const encrypted = socket instanceof tls.TLSSocket;
  socket.write(startupMessage({ ...login.params, user: login.user, database: login.database }, login.minor));
  const framer = new MessageFramer();
  const parameters: [string, string][] = [];
  let pid = 0;
  let secret = Buffer.alloc(0);
  let minor = login.minor;
  let scram: ScramSha256Client | undefined;

  return new Promise<BackendConnection>((resolve, reject) => {
    const timer = setTimeout(() => fail(new GatewayError(GatewayErrorCode.BACKEND_TIMEOUT, 'database login timed out')), CONNECT_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.destroy();
      reject(err);
    };
    const onMessage = (type: number, buf: Buffer, off: number, len: number) => {
      switch (type) {
        case 0x52 /* R */: {
          const auth = readAuthentication(buf, off, len);
          if (auth.kind === 'ok') return;
          if (auth.kind === 'sasl') {
            if (!auth.mechanisms.includes('SCRAM-SHA-256')) throw new GatewayError(GatewayErrorCode.BACKEND_AUTH, `database offers no supported SASL mechanism (${auth.mechanisms.join(', ')})`);
            scram = new ScramSha256Client(login.password);
            socket.write(saslInitialResponse('SCRAM-SHA-256', scram.clientFirstMessage()));
          } else if (auth.kind === 'sasl-continue') {
            if (!scram) throw new GatewayError(GatewayErrorCode.BACKEND_AUTH, 'database sent SASL data out of order', SqlState.PROTOCOL_VIOLATION);
            socket.write(saslResponse(scram.clientFinalMessage(auth.data)));
          } else if (auth.kind === 'sasl-final') {
            if (!scram) throw new GatewayError(GatewayErrorCode.BACKEND_AUTH, 'database sent SASL data out of order', SqlState.PROTOCOL_VIOLATION);
            scram.verifyServerFinal(auth.data);
          } else if (auth.kind === 'md5') {
            socket.write(passwordMessage(md5PasswordHash(login.user, login.password, auth.salt)));
          } else if (auth.kind === 'cleartext') {
            // A cleartext password over an unencrypted socket would hand the credential to anyone on the path.
            if (!encrypted) throw new GatewayError(GatewayErrorCode.BACKEND_AUTH, 'database asks for a cleartext password without TLS; set sslmode: require');
            socket.write(passwordMessage(login.password));
          } else {
            throw new GatewayError(GatewayErrorCode.BACKEND_AUTH, 'database asks for an authentication method the gateway does not support');
          }
          return;
        }
        case 0x76 /* v */:
          minor = readNegotiateProtocolVersion(buf, off, len).newestMinor;
          return;
        case 0x53 /* S */: {
          const p = readParameterStatus(buf, off, len);
          parameters.push([p.name, p.value]);
          return;
        }
        case 0x4b /* K */: {
          const k = readBackendKeyData(buf, off, len);
          pid = k.pid;
          secret = unpooled(k.secret);
          return;
        }
        case 0x45 /* E */:
          throw new BackendLoginError(readErrorFields(buf, off, len));
        case 0x5a /* Z */:
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('error', fail);
          socket.off('close', onClose);
          resolve({ socket, parameters, pid, secret, minor });
          return;
        default:
          return; // NoticeResponse and the like
      }
    };
    const onData = (chunk: Buffer) => {
      try {
        framer.feed(chunk, onMessage);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const onClose = () => fail(new GatewayError(GatewayErrorCode.BACKEND_CLOSED, 'database closed the connection during login'));
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', onClose);
  });
}

/**
 * A copy in memory of its own. A small Buffer is a slice of a shared 64 KiB pool slab, and the backend's key lives
 * as long as its session: kept as it came, idle sessions pin slabs (with the ALPN copy in gateway.ts: 4.3 KB of
 * Buffers per idle session in the bench's idle-memory row, 0.0 without both).
 */
function unpooled(b: Buffer): Buffer<ArrayBuffer> {
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}

/** Forwards a client's cancel to PostgreSQL with the backend's own key (PostgreSQL never answers a cancel). */
export async function sendBackendCancel(target: BackendTarget, pid: number, secret: Buffer, build: (pid: number, secret: Buffer) => Buffer): Promise<void> {
  const socket = await openSocket(target);
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    socket.end(build(pid, secret));
  });
}

export interface SimpleQueryResult {
  rows: (string | null)[][];
  /** ParameterStatus changes PostgreSQL reported while running it */
  parameters: [string, string][];
  /** the CommandComplete tag of each statement ('UPDATE 12'), in order */
  tags: string[];
}

/**
 * Runs one simple-protocol query on a backend connection the gateway owns (no client attached): the role's
 * session settings at startup, catalog lookups for masking. Text-format rows; an ErrorResponse rejects.
 * `keepRows: false` drops the rows as they come (the effect probe only wants the count of a RETURNING statement).
 */
export async function runSimpleQuery(socket: net.Socket, sql: string, what: string, keepRows = true): Promise<SimpleQueryResult> {
  const framer = new MessageFramer();
  const rows: (string | null)[][] = [];
  const parameters: [string, string][] = [];
  const tags: string[] = [];
  let failure: ErrorFields | undefined;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new GatewayError(GatewayErrorCode.BACKEND_TIMEOUT, `${what} timed out`)), CONNECT_TIMEOUT_MS);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onMessage = (type: number, buf: Buffer, off: number, len: number) => {
      if (type === 0x44 /* D */) {
        if (keepRows) rows.push(readDataRow(buf, off, len).map((v) => (v === null ? null : v.toString('utf8'))));
      } else if (type === 0x53 /* S */) {
        const p = readParameterStatus(buf, off, len);
        parameters.push([p.name, p.value]);
      } else if (type === 0x43 /* C */) tags.push(readCommandComplete(buf, off, len).tag);
      else if (type === 0x45 /* E */) failure = readErrorFields(buf, off, len);
      else if (type === 0x5a /* Z */) done(failure ? new GatewayError(GatewayErrorCode.BACKEND_QUERY, `${what} failed: ${failure.message}`, failure.code) : undefined);
    };
    const onData = (chunk: Buffer) => {
      try {
        framer.feed(chunk, onMessage);
      } catch (err) {
        done(err as Error);
      }
    };
    const onClose = () => done(new GatewayError(GatewayErrorCode.BACKEND_CLOSED, `database closed the connection during ${what}`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(queryMessage(sql));
  });
  return { rows, parameters, tags };
}

/** A string literal PostgreSQL reads the same whatever standard_conforming_strings says. */
export function sqlLiteral(v: string): string {
  return `E'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * Sets the role's forced session settings on a fresh backend connection (set_config, so names and values are
 * data, never SQL). Returns the ParameterStatus changes PostgreSQL reported, for the client's startup.
 */
export async function applySessionSettings(socket: net.Socket, settings: Record<string, string>): Promise<[string, string][]> {
  const entries = Object.entries(settings);
  if (entries.length === 0) return [];
  const sql = entries.map(([k, v]) => `SELECT pg_catalog.set_config(${sqlLiteral(k)}, ${sqlLiteral(v)}, false)`).join('; ');
  try {
    return (await runSimpleQuery(socket, sql, "applying the role's session settings")).parameters;
  } catch (err) {
    const e = err as GatewayError;
    throw new GatewayError(GatewayErrorCode.SETTINGS, `the role's session settings could not be applied: ${e.message}`);
  }
}
