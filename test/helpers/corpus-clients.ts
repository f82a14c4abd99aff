// Real PostgreSQL clients that run leak-corpus entries and say what happened: node-postgres on the simple
// protocol, on the extended protocol with text results and with binary results, postgres.js (extended, named
// prepared statements), and psql (simple). Each keeps one connection and opens a new one only when a query
// broke it. An entry runs in a transaction that is rolled back (unless it manages its own), so the corpus's
// writes change nothing for the entries after it.
import { Readable } from 'node:stream';
import pg from 'pg';
import postgres from 'postgres';
import { analyze } from '../../src/policy/index.js';
import { runCollecting, type Collected } from './spawn.js';

export interface LeakEntry {
  sql: string;
  params?: (string | number)[];
}

/** What a client saw: success, a refusal (SQLSTATE 42501), another error, or a connection that broke or hung. */
export type EntryOutcome =
  | { kind: 'ok' }
  | { kind: 'refused'; message: string }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'lost'; message: string };

export interface CorpusClient {
  readonly name: string;
  run(entry: LeakEntry): Promise<EntryOutcome & { output?: string }>;
  close(): Promise<void>;
}

const QUERY_TIMEOUT_MS = 20_000;
const INSUFFICIENT_PRIVILEGE = '42501';

/** True when the entry opens its own transaction (BEGIN ...): it is not wrapped in one. */
function ownsTransaction(sql: string): boolean {
  return /^\s*(begin|start\s+transaction)\b/i.test(sql);
}

/** The entry's statements one by one, for protocols that take one statement per Parse. */
export function statementsOf(sql: string): string[] {
  const a = analyze(sql);
  if (a.error || a.statements.length <= 1) return [sql];
  return a.statements.map((s) => s.sql);
}

/** The entry as one text: $n replaced by its parameter as a quoted literal (for the simple protocol and psql). */
export function inlineParams(entry: LeakEntry): string {
  if (!entry.params?.length) return entry.sql;
  return entry.sql.replace(/\$(\d+)/g, (m, n: string) => {
    const v = entry.params![Number(n) - 1];
    return v === undefined ? m : `'${String(v).replace(/'/g, "''")}'`;
  });
}

function outcomeOf(err: unknown): EntryOutcome {
  const e = err as { code?: unknown; message?: unknown };
  const message = String(e?.message ?? err);
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === INSUFFICIENT_PRIVILEGE) return { kind: 'refused', message };
  if (/^[0-9A-Z]{5}$/.test(code)) return { kind: 'error', code, message };
  return { kind: 'lost', message: code ? `${code}: ${message}` : message };
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${QUERY_TIMEOUT_MS} ms`)), QUERY_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export type NodePgMode = 'simple' | 'extended' | 'binary' | 'row-by-row';

/**
 * node-postgres: simple Query, or Parse/Bind/Describe/Execute/Sync (binary: every result column in binary;
 * row-by-row: Execute with a limit of one row, resumed after each PortalSuspended with Flush, Sync at the end).
 */
export class NodePgClient implements CorpusClient {
  private client: pg.Client | undefined;
  private broken = true;

  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly mode: NodePgMode,
  ) {}

  private async connection(): Promise<pg.Client> {
    if (this.client && !this.broken) return this.client;
    this.drop();
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: QUERY_TIMEOUT_MS });
    client.on('error', () => (this.broken = true));
    client.on('end', () => (this.broken = true));
    client.on('notice', () => undefined);
    await client.connect();
    this.client = client;
    this.broken = false;
    return client;
  }

  private drop(): void {
    const stream = (this.client as unknown as { connection?: { stream?: { destroy(): void } } } | undefined)?.connection?.stream;
    stream?.destroy();
    this.client = undefined;
  }

  private query(client: pg.Client, text: string, values?: unknown[]): Promise<unknown> {
    if (this.mode === 'simple') return client.query(text);
    const config = {
      text,
      values: values ?? [],
      queryMode: 'extended',
      ...(this.mode === 'binary' ? { binary: true } : {}),
      ...(this.mode === 'row-by-row' ? { rows: 1 } : {}),
    };
    const running = client.query(config as pg.QueryConfig);
    if (this.mode !== 'row-by-row') return running;
    // node-postgres (8.23) sends no Sync after an error when it executes with a row limit, so the server (any
    // PostgreSQL, not only the gateway) keeps discarding and the connection hangs; the Sync it owes is sent here.
    return running.catch((err: unknown) => {
      if (typeof (err as { code?: unknown }).code === 'string') (client as unknown as { connection: { sync(): void } }).connection.sync();
      throw err;
    });
  }

  async run(entry: LeakEntry): Promise<EntryOutcome> {
    let client: pg.Client;
    try {
      client = await this.connection();
    } catch (err) {
      return { kind: 'lost', message: `could not connect: ${(err as Error).message}` };
    }
    const statements = this.mode === 'simple' ? [inlineParams(entry)] : statementsOf(entry.sql);
    const wrap = !ownsTransaction(entry.sql);
    let outcome: EntryOutcome = { kind: 'ok' };
    try {
      if (wrap) await withTimeout(client.query('BEGIN'), 'BEGIN');
      for (const s of statements) await withTimeout(this.query(client, s, statements.length === 1 ? entry.params : undefined), this.name);
    } catch (err) {
      outcome = outcomeOf(err);
    }
    if (outcome.kind === 'lost' || this.broken) {
      this.broken = true;
      this.drop();
      return outcome.kind === 'ok' ? { kind: 'lost', message: 'the connection broke' } : outcome;
    }
    if (wrap || outcome.kind !== 'ok') await withTimeout(client.query('ROLLBACK'), 'ROLLBACK').catch(() => (this.broken = true));
    return outcome;
  }

  async close(): Promise<void> {
    if (this.client && !this.broken) await this.client.end().catch(() => undefined);
    this.drop();
  }
}

/** postgres.js: every query on the extended protocol with named prepared statements; COPY results read as a stream. */
export class PostgresJsClient implements CorpusClient {
  private readonly sql: postgres.Sql;

  constructor(
    readonly name: string,
    url: string,
  ) {
    this.sql = postgres(url, { max: 1, fetch_types: false, onnotice: () => undefined, connect_timeout: QUERY_TIMEOUT_MS / 1000, idle_timeout: 0 });
  }

  private async query(text: string, params?: (string | number)[]): Promise<void> {
    const result: unknown = await this.sql.unsafe(text, params ?? []);
    // COPY ... TO STDOUT resolves to a stream that must be read to its end before the next query runs.
    if (result instanceof Readable) for await (const chunk of result) void chunk;
  }

  async run(entry: LeakEntry): Promise<EntryOutcome> {
    const statements = statementsOf(entry.sql);
    const wrap = !ownsTransaction(entry.sql);
    let outcome: EntryOutcome = { kind: 'ok' };
    try {
      if (wrap) await withTimeout(this.query('BEGIN'), 'BEGIN');
      for (const s of statements) await withTimeout(this.query(s, statements.length === 1 ? entry.params : undefined), this.name);
    } catch (err) {
      outcome = outcomeOf(err);
    }
    // postgres.js reconnects by itself after a broken connection; a rollback outside a transaction only warns.
    if (wrap || outcome.kind !== 'ok') await withTimeout(this.query('ROLLBACK'), 'ROLLBACK').catch(() => undefined);
    return outcome;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 2 });
  }
}

/** psql -c (simple protocol), one process and connection per entry; undefined when psql is not installed. */
export class PsqlClient implements CorpusClient {
  readonly name = 'psql';

  constructor(private readonly url: string) {}

  static async available(): Promise<boolean> {
    const r = await runProcess('psql', ['--version']).catch(() => undefined);
    return r?.code === 0;
  }

  async run(entry: LeakEntry): Promise<EntryOutcome & { output: string }> {
    const wrap = !ownsTransaction(entry.sql);
    const commands = [...(wrap ? ['BEGIN'] : []), inlineParams(entry), ...(wrap ? ['ROLLBACK'] : [])];
    const args = ['-X', '-A', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', ...commands.flatMap((c) => ['-c', c]), this.url];
    const r = await runProcess('psql', args);
    const output = r.stdout + r.stderr;
    if (r.code === 0) return { kind: 'ok', output };
    // With VERBOSITY=verbose psql prints the SQLSTATE: "ERROR:  42501: denied by agentdb policy ...". A failed
    // -c exits 1 (3 in a script with ON_ERROR_STOP); 2 is a broken connection.
    const m = /ERROR:\s+([0-9A-Z]{5}):\s*(.*)/.exec(r.stderr);
    if (m && (r.code === 1 || r.code === 3)) return { ...outcomeOf({ code: m[1], message: m[2] }), output };
    return { kind: 'lost', message: `psql exited with ${r.code}: ${r.stderr.trim()}`, output };
  }

  async close(): Promise<void> {}
}

const runProcess = (cmd: string, args: string[]): Promise<Collected> =>
  runCollecting(cmd, args, { env: { ...process.env, PGCONNECT_TIMEOUT: '20', PSQLRC: '/dev/null' }, timeoutMs: QUERY_TIMEOUT_MS });
