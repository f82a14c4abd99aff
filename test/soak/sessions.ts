// One soak session slot: connect (through `agentdb proxy` or straight to the gateway with the task
// certificate), run a random mix of statements with pauses and idle periods, disconnect, connect again, until
// the soak ends. Every statement's outcome is checked: a result, or the refusal that statement must get (a
// held statement the reviewer denied, a canceled pg_sleep); anything else is an error.
import net from 'node:net';
import pg from 'pg';
import { cancelRequest } from '../../src/pgwire/index.js';
import type { Tally } from './tally.ts';

export interface SlotContext {
  tally: Tally;
  /** true once the soak is over: a slot finishes its statement, disconnects and returns */
  stopping(): boolean;
  /** sessions connected now */
  open: { n: number };
  /** called after each connect (the soak's clock starts when enough are open) */
  opened(): void;
  /** true once the clock runs: sessions count their statements and end from then on, not during the ramp-up */
  full(): boolean;
  /** customer id -> the email as stored: a masked read must never return it */
  clearEmails: Map<number, string>;
  /** statements per session (min, max) and the pause before each (ms) */
  rounds: [number, number];
  pauseMs: [number, number];
  /** connection attempts in flight at most: the rest wait here, not in the gateway's queue of connections that
   *  have not authenticated (whose deadline, authentication_timeout, would close them on a saturated machine) */
  connecting: Gate;
}

/** A counting semaphore. */
export class Gate {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** Where a slot's sessions go, who they are and what they run. */
export interface Endpoint {
  name: string;
  /** the task reason of its certificate: the audit events it causes carry it */
  reason: string;
  client(): pg.ClientConfig;
  /** where a CancelRequest goes (the proxy's listener, or the gateway) */
  cancelTo: { host: string; port: number };
  actions: [Action, number][];
}

/** Resolves 'reconnect' when the session should end after it. */
export type Action = (client: pg.Client, slot: number, ep: Endpoint, ctx: SlotContext) => Promise<void | 'reconnect'>;

const randInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** Sleeps `ms`, or less when the soak ends meanwhile (checked every second). */
async function pause(ms: number, ctx: SlotContext): Promise<void> {
  const until = Date.now() + ms;
  while (!ctx.stopping() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.max(1, Math.min(1000, until - Date.now()))));
}

function pick(actions: [Action, number][]): Action {
  let r = Math.random() * actions.reduce((a, [, w]) => a + w, 0);
  for (const [a, w] of actions) if ((r -= w) < 0) return a;
  return actions[actions.length - 1]![0];
}

export async function runSlot(slot: number, ep: Endpoint, ctx: SlotContext): Promise<void> {
  while (!ctx.stopping()) {
    // A statement or a login with no answer at all is a hang: reported as an error, not waited for forever.
    const client = new pg.Client({ query_timeout: 150_000, connectionTimeoutMillis: 120_000, ...ep.client() });
    let broken: unknown;
    client.on('error', (err) => (broken ??= err));
    try {
      await ctx.connecting.run(() => client.connect());
    } catch (err) {
      ctx.tally.error(`${ep.name}: connect`, err);
      await pause(1000, ctx);
      continue;
    }
    ctx.tally.sessionsOpened++;
    ctx.open.n++;
    ctx.opened();
    const rounds = randInt(...ctx.rounds);
    try {
      for (let i = 0; !ctx.stopping(); ) {
        if (ctx.full() && i++ >= rounds) break;
        await pause(randInt(...ctx.pauseMs), ctx);
        if (ctx.stopping()) break;
        const action = pick(ep.actions);
        try {
          if ((await action(client, slot, ep, ctx)) === 'reconnect') break;
        } catch (err) {
          ctx.tally.error(`${ep.name}: ${action.name}`, err);
          break;
        }
        if (broken) {
          ctx.tally.error(`${ep.name}: connection`, broken);
          break;
        }
      }
    } finally {
      ctx.open.n--;
      const ended = client.end().then(() => true, (err: unknown) => (ctx.tally.error(`${ep.name}: disconnect`, err), true));
      if (!(await Promise.race([ended, new Promise((r) => setTimeout(() => r(false), 30_000))]))) ctx.tally.error(`${ep.name}: disconnect`, new Error('the session did not close within 30 s'));
    }
  }
}

// ---- the statements

export const read: Action = async function read(client, _slot, ep, ctx) {
  const r = await client.query('SELECT id, status, amount FROM orders ORDER BY id LIMIT 10');
  if (r.rows.length === 0) throw new Error('the read returned no orders');
  ctx.tally.statement('read', ep.reason);
};

export const write: Action = async function write(client, slot, ep, ctx) {
  const r = await client.query('INSERT INTO soak_writes (slot, n) VALUES ($1, $2)', [slot, ctx.tally.total]);
  if (r.rowCount !== 1) throw new Error(`the insert reported ${r.rowCount} rows`);
  ctx.tally.statement('write', ep.reason);
};

/** A named prepared statement: parsed once per session, then Bind/Execute each time. */
export const prepared: Action = async function prepared(client, _slot, ep, ctx) {
  await client.query({ name: 'soak_order', text: 'SELECT id, amount FROM orders WHERE id = $1', values: [randInt(1, 50)] });
  ctx.tally.statement('prepared', ep.reason);
};

/** The demo agent's masking: an email read back must not be the stored one. */
export const masked: Action = async function masked(client, _slot, ep, ctx) {
  const ids = [...ctx.clearEmails.keys()];
  const id = ids[randInt(0, ids.length - 1)]!;
  const r = await client.query('SELECT id, email FROM customers WHERE id = $1', [id]);
  const email = (r.rows[0] as { email?: string } | undefined)?.email;
  if (email === undefined) throw new Error(`customer ${id} not found`);
  if (email === ctx.clearEmails.get(id)) throw new Error(`customer ${id}'s email came back unmasked`);
  ctx.tally.statement('masked', ep.reason);
};

/** An UPDATE without WHERE: held for review; the soak's reviewer approves or denies it. */
export const held: Action = async function held(client, _slot, ep, ctx) {
  try {
    await client.query('UPDATE soak_held SET n = n + 1');
    ctx.tally.statement('held-approved', ep.reason);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code !== '42501' || !/denied by demo-reviewer/.test(e.message ?? '')) throw err;
    ctx.tally.statement('held-denied', ep.reason);
  }
};

/** pg_sleep canceled with a CancelRequest on a connection of its own, as psql's ^C does; sent again, less and less
 *  often, until it lands (one that arrives before the statement reaches PostgreSQL cancels nothing). The session
 *  ends after it: a late duplicate must not cancel the next statement. */
export const canceled: Action = async function canceled(client, _slot, ep, ctx) {
  let settled = false;
  const started = Date.now();
  const q = client.query('SELECT pg_sleep(60)').finally(() => (settled = true));
  const outcome = q.then(() => undefined, (err: unknown) => err);
  await new Promise((r) => setTimeout(r, randInt(100, 400)));
  for (let wait = 500; !settled && Date.now() - started < 50_000; wait = Math.min(wait * 2, 8000)) {
    await sendCancel(ep.cancelTo, client);
    ctx.tally.cancels.sent++;
    await Promise.race([outcome, new Promise((r) => setTimeout(r, wait))]);
  }
  const err = (await outcome) as { code?: string } | undefined;
  if (err === undefined) throw new Error('pg_sleep(60) ran to its end: no cancel landed');
  if (err.code !== '57014') throw err;
  ctx.tally.cancels.slowestMs = Math.max(ctx.tally.cancels.slowestMs, Date.now() - started);
  ctx.tally.statement('canceled', ep.reason);
  return 'reconnect';
};

/** A session that says nothing for a while. */
export const idle: Action = async function idle(_client, _slot, _ep, ctx) {
  ctx.tally.idlePeriods++;
  await pause(randInt(3000, 10_000), ctx);
};

function sendCancel(to: { host: string; port: number }, client: pg.Client): Promise<void> {
  const c = client as unknown as { processID: number; secretKey: number | Buffer };
  const key = Buffer.isBuffer(c.secretKey) ? c.secretKey : Buffer.alloc(4);
  if (!Buffer.isBuffer(c.secretKey)) key.writeInt32BE(c.secretKey);
  return new Promise((resolve, reject) => {
    const s = net.connect(to.port, to.host, () => s.end(cancelRequest(c.processID, key)));
    s.on('error', reject);
    s.on('close', () => resolve());
    s.resume();
  });
}
