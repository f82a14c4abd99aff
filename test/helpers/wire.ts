// A raw PostgreSQL wire client for tests that must send exactly the bytes they mean (protocol versions,
// pipelined batches, malformed messages): it frames what the server answers with pgwire's own framer and
// hands the messages out one by one.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  MessageFramer, readBackendKeyData, readErrorFields, readNegotiateProtocolVersion, sslRequest, startupMessage, type ErrorFields,
} from '../../src/pgwire/index.js';
import type { ClientCert } from './task-certs.js';

export interface Address {
  host: string;
  port: number;
}

export interface WireMessage {
  /** the type letter, e.g. 'Z' */
  type: string;
  /** the whole message: type byte, length, body */
  raw: Buffer;
}

export interface TlsOptions {
  /** PostgreSQL 17's sslnegotiation=direct: TLS from the first byte, no SSLRequest */
  direct?: boolean;
  /** ALPN protocols to offer; default ['postgresql'], [] offers none */
  alpn?: string[];
}

const WAIT_MS = 30_000;

export class Wire {
  private readonly framer = new MessageFramer();
  private readonly queue: WireMessage[] = [];
  private waiters: (() => void)[] = [];
  private ended = false;
  /** resolves when the server has closed the connection (or it broke) */
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        this.wake();
        resolve();
      };
      socket.once('close', done);
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.framer.feed(chunk, (type, buf, off, len) => {
          this.queue.push({ type: String.fromCharCode(type), raw: Buffer.from(buf.subarray(off, off + len)) });
        });
      } catch (err) {
        socket.destroy(err as Error);
      }
      this.wake();
    });
  }

  /** One end of an in-memory pair (test/helpers/session-harness.ts): only its stream side is used. */
  static over(end: Duplex): Wire {
    return new Wire(end as net.Socket);
  }

  /** A plain TCP connection: nothing is sent yet. */
  static async plain(addr: Address): Promise<Wire> {
    const socket = net.connect({ host: addr.host, port: addr.port, noDelay: true });
    await once(socket, 'connect');
    return new Wire(socket);
  }

  /** TLS with a client certificate, after SSLRequest (or directly); nothing of PostgreSQL is sent yet. */
  static async tls(addr: Address, cert: ClientCert, opts: TlsOptions = {}): Promise<Wire> {
    const common = {
      ca: cert.serverCaPem,
      cert: cert.certPem,
      key: cert.keyPem,
      ALPNProtocols: opts.alpn ?? ['postgresql'],
    };
    let secure: tls.TLSSocket;
    if (opts.direct) {
      secure = tls.connect({ host: addr.host, port: addr.port, ...common });
    } else {
      const raw = net.connect({ host: addr.host, port: addr.port, noDelay: true });
      await once(raw, 'connect');
      raw.write(sslRequest());
      const answer = await new Promise<Buffer>((resolve, reject) => {
        raw.once('data', resolve);
        raw.once('error', reject);
      });
      if (answer.length !== 1 || answer[0] !== 0x53) throw new Error(`the gateway did not accept SSLRequest: ${JSON.stringify(answer.toString('latin1'))}`);
      secure = tls.connect({ socket: raw, ...common });
    }
    await once(secure, 'secureConnect');
    return new Wire(secure);
  }

  /** Messages that have arrived and not been read yet. */
  get waiting(): number {
    return this.queue.length;
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
  }

  /** The next message from the server; rejects when the connection closes first or nothing comes in time. */
  async next(timeoutMs = WAIT_MS): Promise<WireMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.ended) throw new Error('the server closed the connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message from the server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Messages up to and including the first of one of `types`. */
  async until(types: string, timeoutMs = WAIT_MS): Promise<WireMessage[]> {
    const out: WireMessage[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      out.push(m);
      if (types.includes(m.type)) return out;
    }
  }

  /** Sends a StartupMessage and reads to ReadyForQuery (or the error that refused it). */
  async startup(params: Record<string, string>, minor = 0): Promise<StartupAnswer> {
    this.send(startupMessage(params, minor));
    return readStartupAnswer(await this.until('ZE'));
  }

  /** A simple Query, read to ReadyForQuery (or to a FATAL error). */
  async query(sql: string): Promise<WireMessage[]> {
    this.send(queryBytes(sql));
    const out: WireMessage[] = [];
    for (;;) {
      const m = await this.next();
      out.push(m);
      if (m.type === 'Z') return out;
      if (m.type === 'E' && errorOf(m).severity === 'FATAL') return out;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
}

export interface StartupAnswer {
  messages: WireMessage[];
  error?: ErrorFields;
  negotiate?: { newestMinor: number; unrecognized: string[] };
  key?: { pid: number; secret: Buffer };
}

function readStartupAnswer(messages: WireMessage[]): StartupAnswer {
  const out: StartupAnswer = { messages };
  for (const m of messages) {
    if (m.type === 'E') out.error = errorOf(m);
    if (m.type === 'v') out.negotiate = readNegotiateProtocolVersion(m.raw, 0, m.raw.length);
    if (m.type === 'K') out.key = readBackendKeyData(m.raw, 0, m.raw.length);
  }
  return out;
}

export function errorOf(m: WireMessage): ErrorFields {
  return readErrorFields(m.raw, 0, m.raw.length);
}

/** The text values of every DataRow among `messages`. */
export function rowsOf(messages: WireMessage[]): (string | null)[][] {
  const rows: (string | null)[][] = [];
  for (const m of messages) {
    if (m.type !== 'D') continue;
    const n = m.raw.readUInt16BE(5);
    let pos = 7;
    const row: (string | null)[] = [];
    for (let i = 0; i < n; i++) {
      const len = m.raw.readInt32BE(pos);
      pos += 4;
      if (len < 0) row.push(null);
      else {
        row.push(m.raw.toString('utf8', pos, pos + len));
        pos += len;
      }
    }
    rows.push(row);
  }
  return rows;
}

/** 'Q' with any text: unlike pgwire's builder it does not check the text, so tests can send what they like. */
export function queryBytes(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const b = Buffer.alloc(5 + body.length);
  b[0] = 0x51;
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

/** A typed message with the given body and, unless given, the length its body really has. */
export function typedMessage(type: string, body: Buffer, length = 4 + body.length): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b[0] = type.charCodeAt(0);
  b.writeUInt32BE(length >>> 0, 1);
  body.copy(b, 5);
  return b;
}

function once(emitter: net.Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    emitter.once('error', onError);
    emitter.once(event, () => {
      emitter.off('error', onError);
      resolve();
    });
  });
}
