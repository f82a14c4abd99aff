// A GatewaySession on in-memory socket pairs, for tests of the relay itself: the test plays the client on one
// pair and PostgreSQL on the other, writing the bytes each would send (pgwire's builders), and reads what the
// session passed on with the raw Wire reader. Decisions come from the real compiled demo policy; the audit
// log and the recording are stand-ins that keep what the session handed them, and the audit one can hold its
// "durable" answer back, so a test can see what the session forwards before and after its events are stored.
import type net from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { z } from 'zod';
import type { AuditEventInput, AuditLog } from '../../src/audit/index.js';
import { GatewaySession, type SessionContext } from '../../src/gateway/session.js';
import { compilePolicy, loadParser, roleSchema } from '../../src/policy/index.js';
import type { RecordedStatement, RecordingWriter } from '../../src/recording/index.js';
import { demoRoles } from '../../src/server/dev/demo-roles.js';
import { Wire, typedMessage } from './wire.js';

/** The audit log as the session uses it (submit, write); `hold` keeps every onDurable until `release`. */
export class ScriptedAudit {
  readonly submitted: AuditEventInput[][] = [];
  private held: (() => void)[] = [];
  private waiters: (() => void)[] = [];

  constructor(public hold = false) {}

  submit(events: AuditEventInput[], onDurable: (err?: Error) => void): void {
    this.submitted.push(events);
    const done = () => onDurable();
    if (this.hold) this.held.push(done);
    else queueMicrotask(done);
    this.waiters.splice(0).forEach((w) => w());
  }

  write(events: AuditEventInput[]): Promise<void> {
    return new Promise((resolve) => this.submit(events, () => resolve()));
  }

  /** Answers every held submission as stored. */
  release(): void {
    this.held.splice(0).forEach((d) => d());
  }

  /** Resolves once `n` batches have been submitted in all. */
  async batches(n: number): Promise<AuditEventInput[][]> {
    while (this.submitted.length < n) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.submitted;
  }

  get events(): AuditEventInput[] {
    return this.submitted.flat();
  }
}

export interface SessionHarness {
  session: GatewaySession;
  /** the application's end: what it sends goes to the session as the client's bytes */
  client: Wire;
  /** PostgreSQL's end: what the session forwards arrives here; what is sent here is the database's answer */
  backend: Wire;
  audit: ScriptedAudit;
  /** what the session handed the recording, statement by statement */
  recorded: RecordedStatement[];
  /** the session's end reason, once it has ended */
  ended: Promise<string>;
  close(): void;
}

const ctx = (): SessionContext => ({
  sid: GatewaySession.newSid(),
  identity: { name: 'demo-agent', kind: 'agent', roles: ['demo-agent'] },
  task: { id: 'task-harness', reason: 'session harness', requester: 'demo-agent' },
  db: { service: 'customers', name: 'customers', user: 'app_ro' },
  client: { addr: '127.0.0.1' },
  // Far off: the expiry timer is unref'd and cleared when the session ends.
  expiresAt: new Date(Date.now() + 3_600_000),
});

/** A started session of the demo agent under the demo roles; `holdAudit` keeps the audit log's answers back. */
export async function sessionHarness(opts: { holdAudit?: boolean } = {}): Promise<SessionHarness> {
  await loadParser();
  const policy = compilePolicy(z.record(z.string(), roleSchema).parse(demoRoles('customers')));
  const audit = new ScriptedAudit(opts.holdAudit ?? false);
  const recorded: RecordedStatement[] = [];
  const [clientEnd, sessionClientSide] = duplexPair();
  const [backendEnd, sessionBackendSide] = duplexPair();
  let onEnd!: (reason: string) => void;
  const ended = new Promise<string>((resolve) => (onEnd = resolve));
  const session = new GatewaySession(ctx(), asSocket(sessionClientSide), asSocket(backendEnd), {
    // Stand-ins shaped as the session calls them: the real classes write to a store (tested on their own).
    audit: audit as unknown as AuditLog,
    recording: { statement: (s: RecordedStatement) => void recorded.push(s) } as unknown as RecordingWriter,
    decide: (c, stmt) => policy.decide(c.identity, stmt),
    review: () => Promise.resolve({ approved: false, reason: 'no reviewer in the session harness' }),
    cancelBackend: () => undefined,
    onEnd: (s) => onEnd(s.endReason),
  });
  session.start();
  return {
    session,
    client: Wire.over(clientEnd),
    backend: Wire.over(sessionBackendSide),
    audit,
    recorded,
    ended,
    close() {
      session.terminate('57P01', 'session harness closed');
      clientEnd.destroy();
      sessionBackendSide.destroy();
    },
  };
}

// The session uses only the stream side of its sockets (data, write, pause/resume, drain, end, destroy, close).
const asSocket = (d: Duplex): net.Socket => d as net.Socket;

// Frontend and backend messages pgwire has no builder for (the gateway never sends them itself).
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const int16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** Bind of `statement` to `portal` with text parameters and text results. */
export function bindMessage(portal: string, statement: string, params: readonly (string | null)[] = []): Buffer {
  const values = params.map((p) => (p === null ? int32(-1) : Buffer.concat([int32(Buffer.byteLength(p)), Buffer.from(p, 'utf8')])));
  return typedMessage('B', Buffer.concat([cstr(portal), cstr(statement), int16(0), int16(params.length), ...values, int16(0)]));
}

export const executeMessage = (portal: string, maxRows = 0): Buffer => typedMessage('E', Buffer.concat([cstr(portal), int32(maxRows)]));
export const syncMessage = (): Buffer => typedMessage('S', Buffer.alloc(0));
export const parseComplete = (): Buffer => typedMessage('1', Buffer.alloc(0));
export const bindComplete = (): Buffer => typedMessage('2', Buffer.alloc(0));

/** Lets every pending stream event and microtask run: what the session would forward by now has arrived. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
