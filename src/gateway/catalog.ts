// The gateway's view of PostgreSQL's catalog, as inline masking needs it: where a RowDescription column comes
// from (table OID + attribute number -> schema.table.column), which relations a statement reads are views and
// what they are defined as, and the column order of tables. One CatalogCache per database service + database
// name; it holds ONE backend connection of its own, opened lazily, and runs its queries on it one at a time.
//
// Fail closed throughout: a column the cache cannot name is `null` (unknown, so the caller masks it); a lookup
// that fails rejects (so the caller masks or refuses); nothing is ever answered from a guess.
//
// Staleness. The cache trusts what it loaded until one of:
// - invalidate(): the gateway calls it after a DDL statement ran through it;
// - the background check (every `refreshMs`, 2 s by default) finds that a fingerprint of the user catalog
//   changed: a SHA-256, computed by the server, over the namespaces, relations, attribute names, inheritance
//   links and view rules of every non-system schema. That catches schema changes made by other sessions, even
//   outside the gateway. (max(xmin) would not: xids wrap around, and a DROP removes rows without raising it.)
//   A change takes up to one interval to be seen; a check that cannot run drops everything. The check costs
//   the server about 45 ms for 3,000 tables of 10 columns and 300 views, and is skipped while nothing is
//   cached; raise refreshMs for much larger catalogs.
// The fingerprint that a change is compared against is always taken before the data it guards was loaded,
// and every load remembers the cache generation it was issued in: data that a clear overtook is thrown away.
//
// Partitions and inheritance children. A masking rule names the table a user thinks of: the parent. So a
// column of a partition (or of an inheritance child) is reported as the same-named column of its top-most
// ancestor (pg_partition_root for partitions, the top of pg_inherits for inheritance; both are one walk up
// pg_inherits here), matched by NAME, never by attribute number (a partition attached with another column
// order or with dropped columns numbers them differently). A child's own column that the root lacks stays the
// child's. A child of several roots (multiple inheritance) cannot be named by one source: its columns are
// unknown (masked) and flowFor treats it as an opaque view. In flowFor a child is shown to the analysis as a
// view over its root, so `SELECT upper(ssn) FROM orders_2024` is masked when orders.ssn is; the price is that
// writing a parent's masked column back into itself through the child is refused as a write elsewhere.
//
// Relations the catalog does not know (a temporary relation of another session, a name the masking module
// qualified to a schema the client did not mean, one created in a transaction not yet committed) are opaque to
// flowFor: every column of them counts as masked.
import type net from 'node:net';
import { LRUCache } from 'lru-cache';
import { terminateMessage } from '../pgwire/index.js';
import { analyze, loadParser, type AnalyzedStatement } from '../policy/index.js';
import { analyzeMaskedFlow, type MaskFlow, type MaskingPolicy, type ResultColumn } from '../masking/index.js';
import { runSimpleQuery, sqlLiteral } from './backend.js';
import { GatewayError, GatewayErrorCode } from './errors.js';

/** A column of a relation, as masking names it: 'schema.table', the column, and whether it is a view (v or m). */
export type ColumnSource = NonNullable<ResultColumn['source']>;

/** The origin RowDescription gives a field. */
export interface FieldOrigin {
  readonly tableOid: number;
  readonly columnAttr: number;
}

export interface SourceLookup {
  /**
   * Per field, in ResultColumn['source'] terms, so it can be passed on as is: undefined for table OID 0 (a
   * computed column), null when the cache cannot name the column (not loaded yet, gone, ambiguous: masked).
   */
  readonly sources: ResultColumn['source'][];
  /** table OIDs not in the cache yet (their columns are null in `sources`): prefetch() them */
  readonly missing: number[];
}

export interface SessionFlows {
  /** flows of the session's SQL-level prepared statements, for EXECUTE */
  readonly prepared?: ReadonlyMap<string, MaskFlow>;
  /** flows of the session's open cursors, for FETCH */
  readonly cursors?: ReadonlyMap<string, MaskFlow>;
}

export interface CatalogCacheOptions {
  /** how often the background check looks for schema changes; 0 turns it off (then only invalidate() clears) */
  refreshMs?: number;
  /** names the database in error messages, e.g. 'prod/app' */
  label?: string;
}

const DEFAULT_REFRESH_MS = 2_000;
/** one more than the analysis's own view depth: deeper views become opaque there first */
const MAX_ROUNDS = 20;
/** a flow computed while the catalog changed under it is recomputed, this many times at most */
const MAX_RESTARTS = 3;
const MAX_OID = 0xffff_ffff;

/** What one relation looks like, loaded by OID (from RowDescription) or by name (from a statement). */
interface Relation {
  readonly oid: number;
  readonly qualified: string;
  readonly view: boolean;
  /** pg_get_viewdef for views and materialized views, null otherwise (or when the server has none) */
  readonly definition: string | null;
  /** user columns in attribute order, dropped ones left out */
  readonly columns: readonly string[];
  /** every attribute number (system columns too) -> the source RowDescription's columns of it resolve to */
  readonly sources: ReadonlyMap<number, ColumnSource | null>;
  /** top-most ancestors other than itself: none for a plain relation, one for a partition, more is ambiguous */
  readonly roots: readonly Root[];
}

interface Root {
  readonly schema: string;
  readonly name: string;
  readonly qualified: string;
  readonly columns: readonly string[];
}

type NameEntry = { readonly oid: number } | 'missing' | 'ambiguous';

export class CatalogCache {
  private readonly byOid = new Map<number, Relation | 'missing'>();
  private readonly byName = new Map<string, NameEntry>();
  private readonly pendingOids = new Map<number, Promise<void>>();
  private readonly pendingNames = new Map<string, Promise<void>>();
  private flows = new WeakMap<MaskingPolicy, LRUCache<string, MaskFlow>>();
  /** bumped by every clear: a load issued in an older generation is thrown away */
  private generation = 0;
  /** changes whenever cached data may have been dropped: what was derived from the cache before is stale */
  get version(): number {
    return this.generation;
  }
  /** the fingerprint the cached data is known to be no older than; undefined: take one before loading */
  private baseline: string | undefined;
  private baselineTaking: Promise<void> | undefined;
  private socket: net.Socket | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private checking = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly label: string;

  constructor(
    private readonly connect: () => Promise<net.Socket>,
    options: CatalogCacheOptions = {},
  ) {
    this.label = options.label ? `the catalog of ${options.label}` : 'the catalog';
    const every = options.refreshMs ?? DEFAULT_REFRESH_MS;
    if (every > 0) {
      this.timer = setInterval(() => this.check(), every);
      this.timer.unref();
    }
  }

  // ---- RowDescription origins (hot path: synchronous)

  /** Where each field comes from, from the cache only. See SourceLookup for what undefined and null mean. */
  columnSources(fields: readonly FieldOrigin[]): SourceLookup {
    const sources: ResultColumn['source'][] = new Array(fields.length);
    const missing: number[] = [];
    for (let i = 0; i < fields.length; i++) {
      const { tableOid, columnAttr } = fields[i]!;
      if (tableOid === 0) {
        sources[i] = undefined;
        continue;
      }
      const rel = this.byOid.get(tableOid);
      if (rel === undefined && validOid(tableOid) && !missing.includes(tableOid)) missing.push(tableOid);
      sources[i] = rel === undefined || rel === 'missing' ? null : (rel.sources.get(columnAttr) ?? null);
    }
    return { sources, missing };
  }

  /** columnSources after loading whatever it misses: for a caller that can wait for one catalog query. */
  async resolveColumnSources(fields: readonly FieldOrigin[]): Promise<ResultColumn['source'][]> {
    const first = this.columnSources(fields);
    if (first.missing.length === 0) return first.sources;
    await this.prefetch(first.missing);
    return this.columnSources(fields).sources;
  }

  /** Loads the relations (attributes, names, kind, root) of these OIDs in one query. Invalid OIDs are ignored. */
  async prefetch(oids: readonly number[]): Promise<void> {
    const waits: Promise<void>[] = [];
    const wanted: number[] = [];
    for (const oid of new Set(oids)) {
      if (!validOid(oid) || this.byOid.has(oid)) continue;
      const pending = this.pendingOids.get(oid);
      if (pending) waits.push(pending);
      else wanted.push(oid);
    }
    if (wanted.length > 0) {
      // OIDs are integers checked above and formatted here: nothing of the caller's reaches the SQL as text.
      const source = `SELECT pg_catalog.unnest('{${wanted.join(',')}}'::pg_catalog.oid[])`;
      const load = this.load(describeSql(source), 'looking up result columns', (rows, generation) => {
        const found = new Set<number>();
        for (const row of rows) {
          const rel = parseRelation(row);
          found.add(rel.oid);
          if (generation === this.generation) this.byOid.set(rel.oid, rel);
        }
        // A relation dropped since RowDescription named it: nothing to name its columns by.
        if (generation === this.generation) for (const oid of wanted) if (!found.has(oid)) this.byOid.set(oid, 'missing');
      });
      this.track(this.pendingOids, wanted, load);
      waits.push(load);
    }
    await Promise.all(waits);
  }

  // ---- relations by name ('schema.table', as masking spells them)

  // viewDefinitions and tableColumns are the building blocks of flowFor. A name they leave out is not only a
  // table that is not a view: it may not exist, or fit two relations. flowFor makes those opaque; a caller
  // running its own loop must do the same, never take a left-out name for a plain table.

  /** pg_get_viewdef of those of `relations` that are views or materialized views; same names out. */
  async viewDefinitions(relations: readonly string[]): Promise<Map<string, string>> {
    await this.settledNames(relations);
    const out = new Map<string, string>();
    for (const name of relations) {
      const rel = this.relationNamed(name);
      if (rel?.view && rel.definition !== null) out.set(name, rel.definition);
    }
    return out;
  }

  /** Column names in attribute order, dropped columns left out, of those of `relations` that exist (any kind). */
  async tableColumns(relations: readonly string[]): Promise<Map<string, string[]>> {
    await this.settledNames(relations);
    const out = new Map<string, string[]>();
    for (const name of relations) {
      const rel = this.relationNamed(name);
      if (rel) out.set(name, [...rel.columns]);
    }
    return out;
  }

  // ---- flows

  /**
   * The statement's MaskFlow with every relation it reads looked up: views get their definitions (views of
   * views too), tables their column order, children their root, unknown relations are opaque. Cached per
   * policy by statement text until the catalog changes, except statements that depend on the session's
   * prepared statements or cursors (EXECUTE, FETCH), which are recomputed (their catalog lookups are cached).
   */
  async flowFor(stmt: AnalyzedStatement, policy: MaskingPolicy, session: SessionFlows = {}): Promise<MaskFlow> {
    const hit = this.cachedFlow(stmt, policy);
    if (hit) return hit;
    await loadParser();
    for (let attempt = 0; attempt <= MAX_RESTARTS; attempt++) {
      const generation = this.generation;
      const flow = await this.resolveFlow(stmt, policy, session);
      // A statement that shares its analysis with other values of its numbers (analyze.ts) shares its flow
      // too, unless the flow marks literals to redact: their offsets are in this text only.
      const shared = stmt.template !== undefined && flow.sensitiveLiterals.length === 0;
      if (generation !== this.generation) continue;
      if (!dependsOnSession(stmt.node)) this.flowsOf(policy).set(shared ? stmt.template! : stmt.sql, flow);
      return flow;
    }
    // The statement's text stays out of the message: it may hold a guess at a masked value.
    throw this.failure('the schema kept changing while the statement was analysed');
  }

  /** The flow flowFor cached for this statement and policy, or undefined: lets the hot path skip a promise. */
  cachedFlow(stmt: AnalyzedStatement, policy: MaskingPolicy): MaskFlow | undefined {
    const flows = this.flows.get(policy);
    if (!flows) return undefined;
    // Templates and texts share the cache: a template holds NUL, which no text can, so keys never collide.
    return (stmt.template !== undefined ? flows.get(stmt.template) : undefined) ?? flows.get(stmt.sql);
  }

  // ---- lifecycle

  /** Drops everything cached (the gateway calls it when a DDL statement ran through it). */
  invalidate(): void {
    this.clear(undefined);
  }

  /** Stops the background check and closes the connection; later lookups reject. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.clear(undefined);
    const socket = this.socket;
    this.socket = undefined;
    if (socket && !socket.destroyed) socket.end(terminateMessage());
  }

  // ---- internals

  private async resolveFlow(stmt: AnalyzedStatement, policy: MaskingPolicy, session: SessionFlows): Promise<MaskFlow> {
    const views = new Map<string, AnalyzedStatement>();
    const tableColumns = new Map<string, readonly string[]>();
    const opaque = new Set<string>();
    const settled = new Set<string>();
    for (let round = 0; ; round++) {
      const flow = analyzeMaskedFlow(stmt, policy, { views, tableColumns, opaqueRelations: opaque, ...session });
      const fresh = flow.relations.filter((r) => !settled.has(r));
      if (fresh.length === 0) return flow;
      if (round >= MAX_ROUNDS) {
        for (const r of fresh) opaque.add(r);
        for (const r of fresh) settled.add(r);
        continue;
      }
      await this.resolveNames(fresh);
      for (const name of fresh) {
        settled.add(name);
        const rel = this.relationNamed(name);
        if (!rel) {
          opaque.add(name);
          continue;
        }
        tableColumns.set(name, rel.columns);
        if (rel.view) {
          const def = rel.definition === null ? undefined : singleStatement(rel.definition);
          if (def) views.set(name, def);
          else opaque.add(name);
        } else if (rel.roots.length > 1) opaque.add(name);
        else if (rel.roots.length === 1) {
          const def = singleStatement(childAsView(rel, rel.roots[0]!));
          if (def) views.set(name, def);
          else opaque.add(name);
        }
      }
    }
  }

  /** The relation a name stands for, when the cache holds exactly one. */
  private relationNamed(name: string): Relation | undefined {
    const entry = this.byName.get(name);
    if (entry === undefined || typeof entry === 'string') return undefined;
    const rel = this.byOid.get(entry.oid);
    return rel === undefined || rel === 'missing' ? undefined : rel;
  }

  /** resolveNames, repeated should a clear overtake it, so every answer comes from one state of the catalog. */
  private async settledNames(names: readonly string[]): Promise<void> {
    for (let attempt = 0; attempt <= MAX_RESTARTS; attempt++) {
      const generation = this.generation;
      await this.resolveNames(names);
      if (generation === this.generation) return;
    }
    throw this.failure('the schema kept changing while relations were looked up');
  }

  private async resolveNames(names: readonly string[]): Promise<void> {
    const waits: Promise<void>[] = [];
    const wanted: string[] = [];
    for (const name of new Set(names)) {
      if (this.byName.has(name)) continue;
      const pending = this.pendingNames.get(name);
      if (pending) waits.push(pending);
      else wanted.push(name);
    }
    if (wanted.length > 0) {
      const pairs = wanted.flatMap(splits);
      const source = pairs.length === 0
        ? 'SELECT NULL::pg_catalog.oid WHERE false'
        : `SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE (n.nspname, c.relname) IN (${pairs.map(([s, r]) => `(${sqlLiteral(s)}::pg_catalog.name, ${sqlLiteral(r)}::pg_catalog.name)`).join(', ')})`;
      const load = this.load(describeSql(source), 'looking up relations', (rows, generation) => {
        const matches = new Map<string, Relation[]>();
        for (const row of rows) {
          const rel = parseRelation(row);
          const list = matches.get(rel.qualified);
          if (list) list.push(rel);
          else matches.set(rel.qualified, [rel]);
        }
        if (generation !== this.generation) return;
        for (const name of wanted) {
          const found = matches.get(name) ?? [];
          // schema "a.b" + table "c" and schema "a" + table "b.c" are both 'a.b.c': neither can be assumed.
          if (found.length !== 1) {
            this.byName.set(name, found.length === 0 ? 'missing' : 'ambiguous');
            continue;
          }
          const rel = found[0]!;
          this.byOid.set(rel.oid, rel);
          this.byName.set(name, { oid: rel.oid });
        }
      });
      this.track(this.pendingNames, wanted, load);
      waits.push(load);
    }
    await Promise.all(waits);
  }

  private track<K>(pending: Map<K, Promise<void>>, keys: readonly K[], load: Promise<void>): void {
    for (const k of keys) pending.set(k, load);
    const done = () => {
      for (const k of keys) if (pending.get(k) === load) pending.delete(k);
    };
    load.then(done, done);
  }

  /** Runs a lookup after making sure a fingerprint older than its data exists; `apply` sees its generation. */
  private async load(sql: string, what: string, apply: (rows: (string | null)[][], generation: number) => void): Promise<void> {
    const generation = this.generation;
    if (this.baseline === undefined) {
      this.baselineTaking ??= this.query(FINGERPRINT_SQL, 'fingerprinting the catalog').then(
        (rows) => {
          if (generation === this.generation && this.baseline === undefined) this.baseline = fingerprintOf(rows);
        },
        () => undefined, // the background check will find no baseline and clear
      ).finally(() => {
        this.baselineTaking = undefined;
      });
      // Queued before the lookup below on the one connection, so it is taken first whatever happens.
    }
    const rows = await this.query(sql, what);
    try {
      apply(rows, generation);
    } catch (err) {
      throw this.failure(`${what}: ${(err as Error).message}`);
    }
  }

  /** The background check: clears everything when the catalog's fingerprint moved (or cannot be taken). */
  private check(): void {
    if (this.closed || this.checking || (this.byOid.size === 0 && this.byName.size === 0)) return;
    this.checking = true;
    const generation = this.generation;
    this.query(FINGERPRINT_SQL, 'checking the catalog for changes')
      .then(
        (rows) => {
          if (generation !== this.generation) return;
          const now = fingerprintOf(rows);
          // Taken before anything loaded after it: a valid baseline for what comes next.
          if (now !== this.baseline) this.clear(now);
        },
        () => {
          if (generation === this.generation) this.clear(undefined);
        },
      )
      .finally(() => {
        this.checking = false;
      });
  }

  private clear(baseline: string | undefined): void {
    this.generation++;
    this.baseline = baseline;
    this.byOid.clear();
    this.byName.clear();
    this.pendingOids.clear();
    this.pendingNames.clear();
    this.flows = new WeakMap();
  }

  private flowsOf(policy: MaskingPolicy): LRUCache<string, MaskFlow> {
    let cache = this.flows.get(policy);
    if (!cache) {
      cache = new LRUCache<string, MaskFlow>({ max: 5_000, maxSize: 32 * 1024 * 1024, sizeCalculation: (_f, sql) => sql.length + 1024 });
      this.flows.set(policy, cache);
    }
    return cache;
  }

  /** One query at a time on the cache's own connection. */
  private query(sql: string, what: string): Promise<(string | null)[][]> {
    const run = this.tail.then(() => this.execute(sql, what));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async execute(sql: string, what: string): Promise<(string | null)[][]> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new GatewayError(GatewayErrorCode.CATALOG_CLOSED, `${this.label} is closed`);
      const reused = this.socket !== undefined;
      const socket = this.socket ?? (await this.open());
      try {
        return (await runSimpleQuery(socket, sql, what)).rows;
      } catch (err) {
        const e = err as GatewayError;
        // An ErrorResponse leaves the connection in step (ReadyForQuery came); anything else may not.
        if (e.code !== GatewayErrorCode.BACKEND_QUERY) this.drop(socket);
        // A connection that died while idle (server restart, idle timeout) is retried once on a new one.
        const retry = reused && attempt === 0 && e.code === GatewayErrorCode.BACKEND_CLOSED;
        if (!retry) throw this.failure(`${what}: ${e.message}`);
      }
    }
  }

  private async open(): Promise<net.Socket> {
    let socket: net.Socket;
    try {
      socket = await this.connect();
    } catch (err) {
      throw this.failure(`connecting: ${(err as Error).message}`);
    }
    if (this.closed) {
      socket.destroy();
      throw new GatewayError(GatewayErrorCode.CATALOG_CLOSED, `${this.label} is closed`);
    }
    socket.on('error', () => this.drop(socket));
    socket.on('close', () => this.drop(socket));
    // search_path = pg_catalog makes pg_get_viewdef qualify every user relation, so a view's text names the
    // same relations however the gateway's role or database sets its search_path. The timeouts turn a lookup
    // stuck behind a lock (DDL in an open transaction) into an error the caller fails closed on.
    await runSimpleQuery(
      socket,
      "SELECT pg_catalog.set_config('search_path', 'pg_catalog', false), pg_catalog.set_config('lock_timeout', '2s', false), pg_catalog.set_config('statement_timeout', '8s', false)",
      'preparing the catalog connection',
    ).catch((err: Error) => {
      this.drop(socket);
      throw this.failure(`preparing the connection: ${err.message}`);
    });
    this.socket = socket;
    return socket;
  }

  private drop(socket: net.Socket): void {
    if (this.socket === socket) this.socket = undefined;
    socket.destroy();
  }

  private failure(message: string): GatewayError {
    return new GatewayError(GatewayErrorCode.CATALOG, `${this.label} could not be read, so masking cannot tell where data comes from (${message})`);
  }
}

// ---- SQL

/**
 * One row per relation of `source` (a query yielding OIDs): OID, schema, name, kind, view definition, its
 * attributes [[attnum, name]], and its top-most ancestors [[schema, name, [columns]]] (none for a relation
 * without parents). UNION in the walk makes a diamond of inheritance cost one row per ancestor.
 */
function describeSql(source: string): string {
  return `WITH RECURSIVE wanted(oid) AS (${source}),
up(rel, anc) AS (
  SELECT w.oid, w.oid FROM wanted w
  UNION
  SELECT up.rel, i.inhparent FROM up JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.anc
)
SELECT c.oid, n.nspname, c.relname, c.relkind,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attnum, a.attname) ORDER BY a.attnum)
     FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum <> 0 AND NOT a.attisdropped),
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(rn.nspname, rc.relname,
            (SELECT pg_catalog.json_agg(ra.attname ORDER BY ra.attnum) FROM pg_catalog.pg_attribute ra
              WHERE ra.attrelid = rc.oid AND ra.attnum > 0 AND NOT ra.attisdropped)))
     FROM up JOIN pg_catalog.pg_class rc ON rc.oid = up.anc JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
    WHERE up.rel = c.oid AND up.anc <> c.oid
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits p WHERE p.inhrelid = up.anc))
FROM (SELECT DISTINCT oid FROM wanted) w
JOIN pg_catalog.pg_class c ON c.oid = w.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`;
}

// Names are quoted with %L so no name can pose as another record; records are sorted in the C collation so
// the order rows happen to be stored in does not matter. System schemas (pg_*, information_schema) do not
// change under a running server, and leaving out pg_temp_* keeps other sessions' temporary tables from
// clearing the cache every time.
const USER_SCHEMA = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'";
const FINGERPRINT_SQL = `SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
  coalesce(pg_catalog.string_agg(x, E'\\n' ORDER BY x COLLATE "C"), ''), 'UTF8')), 'hex') FROM (
  SELECT pg_catalog.format('n %s %L', n.oid, n.nspname) AS x FROM pg_catalog.pg_namespace n WHERE ${USER_SCHEMA}
  UNION ALL
  SELECT pg_catalog.format('c %s %s %s %L', c.oid, c.relnamespace, c.relkind, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  UNION ALL
  SELECT pg_catalog.format('a %s %s %L %s', a.attrelid, a.attnum, a.attname, a.attisdropped)
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0
  UNION ALL
  SELECT pg_catalog.format('i %s %s', i.inhrelid, i.inhparent)
    FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA}
  UNION ALL
  SELECT pg_catalog.format('r %s %s %s', r.oid, r.ev_class, pg_catalog.md5(r.ev_action::pg_catalog.text))
    FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA}
) s`;

function fingerprintOf(rows: (string | null)[][]): string {
  const fp = rows[0]?.[0];
  if (typeof fp !== 'string' || fp.length !== 64) throw new Error('the catalog fingerprint came back malformed');
  return fp;
}

// ---- parsing what the server sent (malformed => an error, never a guess)

function parseRelation(row: (string | null)[]): Relation {
  const [oidText, schema, name, kind, definition, attrsJson, rootsJson] = row;
  const oid = Number(oidText);
  if (row.length !== 7 || !validOid(oid) || typeof schema !== 'string' || typeof name !== 'string' || typeof kind !== 'string') {
    throw new Error('a catalog row came back malformed');
  }
  const attrs = parseJson(attrsJson ?? '[]', isAttributeList);
  const roots: Root[] = parseJson(rootsJson ?? '[]', isRootList).map(([s, r, cols]) => ({ schema: s, name: r, qualified: `${s}.${r}`, columns: cols ?? [] }));
  const qualified = `${schema}.${name}`;
  const view = kind === 'v' || kind === 'm';
  const root = roots.length === 1 ? roots[0]! : undefined;
  const rootColumns = new Set(root?.columns);
  const sources = new Map<number, ColumnSource | null>();
  for (const [attnum, column] of attrs) {
    let source: ColumnSource | null;
    if (roots.length > 1) source = null;
    else if (root && rootColumns.has(column)) source = Object.freeze({ relation: root.qualified, column, view: false });
    else source = Object.freeze({ relation: qualified, column, view });
    sources.set(attnum, source);
  }
  return {
    oid,
    qualified,
    view,
    definition: view ? (definition ?? null) : null,
    columns: Object.freeze(attrs.filter(([n]) => n > 0).map(([, c]) => c)),
    sources,
    roots,
  };
}

function parseJson<T>(text: string, check: (v: unknown) => v is T): T {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('a catalog row held malformed JSON');
  }
  if (!check(v)) throw new Error('a catalog row held JSON of an unexpected shape');
  return v;
}

function isAttributeList(v: unknown): v is [number, string][] {
  return Array.isArray(v) && v.every((a) => Array.isArray(a) && a.length === 2 && Number.isInteger(a[0]) && typeof a[1] === 'string');
}

function isRootList(v: unknown): v is [string, string, string[] | null][] {
  return (
    Array.isArray(v) &&
    v.every(
      (r) =>
        Array.isArray(r) && r.length === 3 && typeof r[0] === 'string' && typeof r[1] === 'string' &&
        (r[2] === null || (Array.isArray(r[2]) && r[2].every((c: unknown) => typeof c === 'string'))),
    )
  );
}

// ---- helpers of the flow

function validOid(oid: number): boolean {
  return Number.isInteger(oid) && oid > 0 && oid <= MAX_OID;
}

/** Every (schema, table) a 'schema.table' name can stand for: names may hold dots themselves. */
function splits(name: string): [string, string][] {
  const out: [string, string][] = [];
  for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) {
    const schema = name.slice(0, i);
    const rel = name.slice(i + 1);
    // NUL cannot be in a name, and PostgreSQL refuses it in a literal: leave such a name unresolved.
    if (schema && rel && !name.includes('\0')) out.push([schema, rel]);
  }
  return out;
}

/** A view definition (or generated text) as the one statement the analysis wants, or undefined. */
function singleStatement(sql: string): AnalyzedStatement | undefined {
  const a = analyze(sql);
  const stmt = a.statements[0];
  if (a.error || a.statements.length !== 1 || !stmt || stmt.unclassified) return undefined;
  return stmt;
}

/** A child shown as a view over its root: its columns in order, each the root's same-named one if it has it. */
function childAsView(child: Relation, root: Root): string {
  const has = new Set(root.columns);
  const cols = child.columns.map((c) => (has.has(c) ? `r.${ident(c)}` : `NULL AS ${ident(c)}`));
  return `SELECT ${cols.length ? cols.join(', ') : 'NULL'} FROM ${ident(root.schema)}.${ident(root.name)} r`;
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Does the statement's flow depend on the session (EXECUTE of a prepared statement, FETCH from a cursor)? */
function dependsOnSession(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(dependsOnSession);
  if (typeof node !== 'object' || node === null) return false;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'ExecuteStmt' || k === 'FetchStmt') return true;
    if (typeof v === 'object' && v !== null && dependsOnSession(v)) return true;
  }
  return false;
}
