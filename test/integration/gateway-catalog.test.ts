// The gateway's catalog cache against a real PostgreSQL: RowDescription origins resolved to schema.table.column
// (through aliases, views, partitions and inheritance), view definitions and column order by name, flows of
// statements over views of masked columns, and staleness: schema changes made by another connection are picked
// up after invalidate() and, without it, by the background fingerprint check.
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import pg from 'pg';
import { MessageFramer, queryMessage, readRowDescription, type FieldDescription } from '../../src/pgwire/index.js';
import { analyze, loadParser, type AnalyzedStatement } from '../../src/policy/index.js';
import { buildColumnPlan, compileMasking, type MaskFlow, type MaskingPolicy, type ResultColumn } from '../../src/masking/index.js';
import { connectBackend } from '../../src/gateway/backend.js';
import { CatalogCache, type CatalogCacheOptions } from '../../src/gateway/catalog.js';
import type { GatewayError } from '../../src/gateway/index.js';

const suffix = randomBytes(4).toString('hex');
const dbName = `catalog_${suffix}`;
const role = `catalog_role_${suffix}`;
const password = randomBytes(18).toString('base64url');
let superuser: pg.Client;
/** the separate connection that changes the schema, as another session would */
let admin: pg.Client;
let host = '';
let port = 0;
const caches: CatalogCache[] = [];
/** backend pids of the catalog connections opened, newest last */
const pids: number[] = [];

async function login(): Promise<net.Socket> {
  const conn = await connectBackend(
    { host, port, sslmode: 'disable' },
    { user: role, password, database: dbName, params: { application_name: 'agentdb-catalog-test' }, minor: 0 },
  );
  pids.push(conn.pid);
  return conn.socket;
}

function newCache(options: CatalogCacheOptions = { refreshMs: 0 }, connect: () => Promise<net.Socket> = login): CatalogCache {
  const cache = new CatalogCache(connect, { label: `test/${dbName}`, ...options });
  caches.push(cache);
  return cache;
}

/** Sends one simple query on a socket of our own and returns its RowDescription, as the gateway would see it. */
async function rowDescriptionOf(sql: string): Promise<FieldDescription[]> {
  const socket = await login();
  const framer = new MessageFramer();
  try {
    return await new Promise<FieldDescription[]>((resolve, reject) => {
      let fields: FieldDescription[] | undefined;
      let error = '';
      socket.on('data', (chunk: Buffer) =>
        framer.feed(chunk, (type, buf, off, len) => {
          if (type === 0x54) fields = readRowDescription(buf, off, len);
          else if (type === 0x45) error = buf.subarray(off, off + len).toString('latin1');
          else if (type === 0x5a) {
            if (fields) resolve(fields);
            else reject(new Error(`no RowDescription for ${sql}: ${error}`));
          }
        }),
      );
      socket.on('error', reject);
      socket.write(queryMessage(sql));
    });
  } finally {
    socket.destroy();
  }
}

async function oidOf(relation: string): Promise<number> {
  const r = await admin.query<{ oid: string }>('SELECT $1::regclass::oid AS oid', [relation]);
  return Number(r.rows[0]!.oid);
}

function stmt(sql: string): AnalyzedStatement {
  const a = analyze(sql);
  expect(a.error).toBeUndefined();
  return a.statements[0]!;
}

/** The masking plan the gateway would build for `sql`: flow from the cache, sources from the real RowDescription. */
async function planOf(cache: CatalogCache, sql: string, policy: MaskingPolicy): Promise<string[]> {
  const flow = await cache.flowFor(stmt(sql), policy);
  const fields = await rowDescriptionOf(sql);
  const sources = await cache.resolveColumnSources(fields);
  const columns: ResultColumn[] = fields.map((f, i) => ({ name: f.name, typeOid: f.typeOid, format: f.format, source: sources[i] }));
  const planned = buildColumnPlan(columns, flow, policy);
  if ('refusal' in planned) return [`refused: ${planned.refusal.message}`];
  return planned.plan.map((p) => p.action);
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  await loadParser();
  const url = new URL(inject('pgAdminUrl'));
  host = url.hostname;
  port = Number(url.port);
  superuser = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await superuser.connect();
  await superuser.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await superuser.query(`CREATE DATABASE ${dbName} OWNER ${role}`);
  admin = new pg.Client({ host, port, user: role, password, database: dbName });
  await admin.connect();
  await admin.query(`
    CREATE TABLE customers (id int PRIMARY KEY, name text, ssn text);
    INSERT INTO customers VALUES (1, 'Ada', '123-45-6789');
    CREATE VIEW v_ident AS SELECT id, ssn AS ident FROM customers;
    CREATE VIEW v_code AS SELECT ident AS code, id FROM v_ident;
    CREATE MATERIALIZED VIEW m_names AS SELECT id, name FROM customers;

    CREATE TABLE orders (id int, ssn text, note text) PARTITION BY RANGE (id);
    -- attached with another column order and a dropped column: attribute numbers differ from the parent's
    CREATE TABLE orders_2024 (junk int, note text, id int, ssn text);
    ALTER TABLE orders_2024 DROP COLUMN junk;
    ALTER TABLE orders ATTACH PARTITION orders_2024 FOR VALUES FROM (0) TO (100);
    CREATE TABLE orders_2025 PARTITION OF orders FOR VALUES FROM (100) TO (200) PARTITION BY LIST (note);
    CREATE TABLE orders_2025_a PARTITION OF orders_2025 FOR VALUES IN ('a');
    INSERT INTO orders VALUES (1, '111-11-1111', 'x'), (150, '222-22-2222', 'a');

    CREATE TABLE animals (name text, secret text);
    CREATE TABLE dogs (bark text) INHERITS (animals);
    CREATE TABLE owners (owner text);
    CREATE TABLE pets (tag text) INHERITS (animals, owners);

    CREATE TABLE shuffled (a int, b int, c int);
    ALTER TABLE shuffled DROP COLUMN b;
    ALTER TABLE shuffled ADD COLUMN d int;

    CREATE SCHEMA "a.b"; CREATE TABLE "a.b".c (x int);
    CREATE SCHEMA a; CREATE TABLE a."b.c" (y int);
    CREATE SCHEMA "q.r"; CREATE TABLE "q.r".s (z int);
    CREATE TABLE "Mixed Case" ("Odd ""Col""" int);
  `);
});

afterAll(async () => {
  for (const c of caches) c.close();
  await admin?.end();
  await superuser?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await superuser?.query(`DROP ROLE IF EXISTS ${role}`);
  await superuser?.end();
});

describe('RowDescription origins', () => {
  test('names direct and aliased columns, leaves computed ones as undefined and unknown ones null', async () => {
    const cache = newCache();
    const customers = await oidOf('customers');
    const fields = await rowDescriptionOf('SELECT c.ssn AS x, upper(c.name) AS y, c.id, c.ctid FROM customers c');
    expect(fields.map((f) => f.tableOid)).toEqual([customers, 0, customers, customers]);

    // Not loaded yet: unknown (masked if passed on as is) and reported for prefetch.
    const before = cache.columnSources(fields);
    expect(before.sources).toEqual([null, undefined, null, null]);
    expect(before.missing).toEqual([customers]);

    await cache.prefetch(before.missing);
    const after = cache.columnSources(fields);
    expect(after.missing).toEqual([]);
    expect(after.sources).toEqual([
      { relation: 'public.customers', column: 'ssn', view: false },
      undefined,
      { relation: 'public.customers', column: 'id', view: false },
      { relation: 'public.customers', column: 'ctid', view: false },
    ]);
  });

  test('bad input: OIDs that are not OIDs, relations that do not exist, attributes a relation lacks', async () => {
    const cache = newCache();
    const customers = await oidOf('customers');
    const bogus = [
      { tableOid: -5, columnAttr: 1 },
      { tableOid: 1.5, columnAttr: 1 },
      { tableOid: Number.NaN, columnAttr: 1 },
      { tableOid: 2 ** 32, columnAttr: 1 },
      { tableOid: 4_000_000_000, columnAttr: 1 },
      { tableOid: customers, columnAttr: 99 },
    ];
    const first = cache.columnSources(bogus);
    expect(first.sources).toEqual([null, null, null, null, null, null]);
    expect(first.missing).toEqual([4_000_000_000, customers]);
    await cache.prefetch([-5, 1.5, Number.NaN, ...first.missing]);
    const second = cache.columnSources(bogus);
    // A relation that is not there stays unknown, and is not asked for again.
    expect(second.sources).toEqual([null, null, null, null, null, null]);
    expect(second.missing).toEqual([]);
    await expect(cache.prefetch([])).resolves.toBeUndefined();
  });

  test('a column of a view is the view column, marked as a view (materialized ones too)', async () => {
    const cache = newCache();
    const fields = await rowDescriptionOf('SELECT code AS k, id FROM v_code');
    const mat = await rowDescriptionOf('SELECT name FROM m_names');
    const sources = await cache.resolveColumnSources([...fields, ...mat]);
    expect(sources).toEqual([
      { relation: 'public.v_code', column: 'code', view: true },
      { relation: 'public.v_code', column: 'id', view: true },
      { relation: 'public.m_names', column: 'name', view: true },
    ]);
  });

  test('partitions (at any depth, attached with another column order) map to the root by name', async () => {
    const cache = newCache();
    const direct = await rowDescriptionOf('SELECT ssn, note, id FROM orders_2024');
    expect(direct[0]!.tableOid).toBe(await oidOf('orders_2024'));
    // ssn is attribute 4 of orders_2024 but 2 of orders: the mapping must go by name.
    expect(direct[0]!.columnAttr).toBe(4);
    const leaf = await rowDescriptionOf('SELECT ssn FROM orders_2025_a');
    const sources = await cache.resolveColumnSources([...direct, ...leaf]);
    expect(sources).toEqual([
      { relation: 'public.orders', column: 'ssn', view: false },
      { relation: 'public.orders', column: 'note', view: false },
      { relation: 'public.orders', column: 'id', view: false },
      { relation: 'public.orders', column: 'ssn', view: false },
    ]);
  });

  test('inheritance: inherited columns map to the parent, own columns stay, several parents are unknown', async () => {
    const cache = newCache();
    const dogs = await rowDescriptionOf('SELECT secret, bark FROM dogs');
    const pets = await rowDescriptionOf('SELECT secret, tag FROM pets');
    const sources = await cache.resolveColumnSources([...dogs, ...pets]);
    expect(sources).toEqual([
      { relation: 'public.animals', column: 'secret', view: false },
      { relation: 'public.dogs', column: 'bark', view: false },
      null,
      null,
    ]);
  });
});

describe('relations by name', () => {
  test('tableColumns lists columns in attribute order without dropped ones, for relations that exist', async () => {
    const cache = newCache();
    const cols = await cache.tableColumns(['public.shuffled', 'public.customers', 'public.nope', 'public.Mixed Case', 'nodot']);
    expect([...cols.entries()]).toEqual([
      ['public.shuffled', ['a', 'c', 'd']],
      ['public.customers', ['id', 'name', 'ssn']],
      ['public.Mixed Case', ['Odd "Col"']],
    ]);
  });

  test('viewDefinitions answers for views only, with every relation schema-qualified', async () => {
    const cache = newCache();
    const defs = await cache.viewDefinitions(['public.v_ident', 'public.v_code', 'public.m_names', 'public.customers', 'public.nope']);
    expect([...defs.keys()]).toEqual(['public.v_ident', 'public.v_code', 'public.m_names']);
    expect(defs.get('public.v_ident')).toMatch(/FROM public\.customers/);
    expect(defs.get('public.v_code')).toMatch(/FROM public\.v_ident/);
  });

  test('names with quotes are data, not SQL; a dotted name that fits two relations answers neither', async () => {
    const cache = newCache();
    const evil = "public.x'; DROP TABLE customers; --";
    const cols = await cache.tableColumns([evil, 'public.x\\', 'public.a\0b', 'a.b.c', 'q.r.s']);
    expect([...cols.entries()]).toEqual([['q.r.s', ['z']]]);
    const still = await admin.query('SELECT count(*)::int AS n FROM customers');
    expect(still.rows[0].n).toBe(1);
  });
});

describe('flows', () => {
  const policy = compileMasking([{ columns: { 'customers.ssn': 'redact', 'orders.ssn': 'redact', 'animals.secret': 'redact' } }], randomBytes(32));

  test('a computed column over a view of a view of a masked column is masked; clean ones pass', async () => {
    const cache = newCache();
    expect(await planOf(cache, 'SELECT upper(code) AS u, 1 AS one, id FROM v_code', policy)).toEqual(['mask', 'pass', 'pass']);
    expect(await planOf(cache, 'SELECT code FROM v_code', policy)).toEqual(['mask']);
    expect(await planOf(cache, 'SELECT * FROM v_ident', policy)).toEqual(['pass', 'mask']);
    expect(await planOf(cache, 'SELECT upper(name), ssn FROM customers', policy)).toEqual(['pass', 'mask']);
    const flow = await cache.flowFor(stmt('SELECT upper(code) FROM v_code'), policy);
    expect(flow.views).toEqual(expect.arrayContaining(['public.v_code', 'public.v_ident']));
  });

  test('a rule on the parent covers computed columns of a partition and of an inheritance child', async () => {
    const cache = newCache();
    expect(await planOf(cache, 'SELECT upper(ssn), note FROM orders_2024', policy)).toEqual(['mask', 'pass']);
    expect(await planOf(cache, 'SELECT lower(ssn) FROM orders_2025_a', policy)).toEqual(['mask']);
    expect(await planOf(cache, 'SELECT * FROM orders_2024', policy)).toEqual(['pass', 'pass', 'mask']);
    expect(await planOf(cache, 'SELECT upper(secret), bark FROM dogs', policy)).toEqual(['mask', 'pass']);
    // Two roots: nothing of it can be vouched for.
    expect(await planOf(cache, 'SELECT upper(tag) FROM pets', policy)).toEqual(['mask']);
  });

  test('relations the catalog does not know are opaque; sources not loaded yet are masked', async () => {
    const cache = newCache();
    const flow = await cache.flowFor(stmt('SELECT upper(x) FROM not_there'), policy);
    expect(flow.output?.head[0]?.taint.unknown).toBe(true);
    // What a caller that does not wait for prefetch gets: the column is masked, not passed.
    const fresh = newCache();
    const fields = await rowDescriptionOf('SELECT name FROM customers');
    const { sources } = fresh.columnSources(fields);
    const planned = buildColumnPlan([{ name: 'name', typeOid: fields[0]!.typeOid, format: 0, source: sources[0] }], undefined, policy);
    expect('plan' in planned && planned.plan[0]?.action).toBe('mask');
  });

  test('texts that differ only in numbers share a flow, unless it has literals to redact', async () => {
    const cache = newCache();
    const flow = await cache.flowFor(stmt('SELECT upper(code), id FROM v_code WHERE id = 1'), policy);
    expect(cache.cachedFlow(stmt('SELECT upper(code), id FROM v_code WHERE id = 2000'), policy)).toBe(flow);
    // A number compared with a masked column is redacted by its offset in its own text: no sharing.
    const guess = await cache.flowFor(stmt('SELECT name FROM customers WHERE id = 1 AND ssn = 123456789'), policy);
    expect(guess.sensitiveLiterals.length).toBe(1);
    expect(cache.cachedFlow(stmt('SELECT name FROM customers WHERE id = 1 AND ssn = 123456780'), policy)).toBeUndefined();
    const other = await cache.flowFor(stmt('SELECT name FROM customers WHERE id = 10000 AND ssn = 1'), policy);
    expect(other.sensitiveLiterals).toEqual([[54, 55]]);
  });

  test('flows are cached by text and policy until invalidated; EXECUTE and FETCH are not', async () => {
    const cache = newCache();
    const sql = 'SELECT upper(code) FROM v_code';
    expect(cache.cachedFlow(stmt(sql), policy)).toBeUndefined();
    const flow = await cache.flowFor(stmt(sql), policy);
    expect(cache.cachedFlow(stmt(sql), policy)).toBe(flow);
    expect(await cache.flowFor(stmt(sql), policy)).toBe(flow);
    const other = compileMasking([{ columns: {} }], randomBytes(32));
    expect(cache.cachedFlow(stmt(sql), other)).toBeUndefined();
    cache.invalidate();
    expect(cache.cachedFlow(stmt(sql), policy)).toBeUndefined();

    const prepared = new Map<string, MaskFlow>([['p', await cache.flowFor(stmt('PREPARE p AS SELECT ssn FROM customers'), policy)]]);
    const executed = await cache.flowFor(stmt('EXECUTE p'), policy, { prepared });
    expect(executed.output?.head[0]?.taint.origins).toEqual(['public.customers.ssn']);
    expect(cache.cachedFlow(stmt('EXECUTE p'), policy)).toBeUndefined();
    // Without the session's prepared statement, EXECUTE p is of unknown origin: a cached answer would be wrong.
    const unknown = await cache.flowFor(stmt('EXECUTE p'), policy);
    expect(unknown.output?.middle?.unknown).toBe(true);
  });
});

describe('staleness', () => {
  test('invalidate() picks up a column renamed by another session', async () => {
    await admin.query('CREATE TABLE renamed1 (id int, ssn text)');
    const cache = newCache({ refreshMs: 0 });
    const fields = await rowDescriptionOf('SELECT ssn FROM renamed1');
    expect(await cache.resolveColumnSources(fields)).toEqual([{ relation: 'public.renamed1', column: 'ssn', view: false }]);
    await admin.query('ALTER TABLE renamed1 RENAME COLUMN ssn TO national_id');
    // Without a signal the cache cannot know (the background check is off here).
    expect(cache.columnSources(fields).sources[0]).toEqual({ relation: 'public.renamed1', column: 'ssn', view: false });
    cache.invalidate();
    expect(cache.columnSources(fields)).toEqual({ sources: [null], missing: [fields[0]!.tableOid] });
    expect(await cache.resolveColumnSources(fields)).toEqual([{ relation: 'public.renamed1', column: 'national_id', view: false }]);
  });

  test('the background check picks up renames, a table dropped and recreated, and a view redefined', async () => {
    await admin.query('CREATE TABLE renamed2 (id int, ssn text); CREATE VIEW v_swap AS SELECT name AS label FROM customers');
    const cache = newCache({ refreshMs: 100 });
    const policy = compileMasking([{ columns: { 'customers.ssn': 'redact' } }], randomBytes(32));
    const fields = await rowDescriptionOf('SELECT ssn FROM renamed2');
    expect(await cache.resolveColumnSources(fields)).toEqual([{ relation: 'public.renamed2', column: 'ssn', view: false }]);
    expect(await cache.tableColumns(['public.renamed2'])).toEqual(new Map([['public.renamed2', ['id', 'ssn']]]));
    expect(await planOf(cache, 'SELECT upper(label) FROM v_swap', policy)).toEqual(['pass']);

    await admin.query('ALTER TABLE renamed2 RENAME COLUMN ssn TO national_id');
    await waitFor('the rename to be noticed', () => cache.columnSources(fields).missing.length === 1);
    expect(await cache.resolveColumnSources(fields)).toEqual([{ relation: 'public.renamed2', column: 'national_id', view: false }]);

    // Same name, new OID, other columns.
    const oldOid = fields[0]!.tableOid;
    await admin.query('DROP TABLE renamed2; CREATE TABLE renamed2 (code text, id int)');
    await waitFor('the drop to be noticed', () => cache.columnSources([{ tableOid: oldOid, columnAttr: 2 }]).missing.length === 1);
    expect(await cache.tableColumns(['public.renamed2'])).toEqual(new Map([['public.renamed2', ['code', 'id']]]));
    expect(await oidOf('renamed2')).not.toBe(oldOid);
    await cache.prefetch([oldOid]);
    expect(cache.columnSources([{ tableOid: oldOid, columnAttr: 2 }]).sources).toEqual([null]);

    // Same columns, other definition: only the view's rule changed.
    expect(await planOf(cache, 'SELECT upper(label) FROM v_swap', policy)).toEqual(['pass']);
    expect(cache.cachedFlow(stmt('SELECT upper(label) FROM v_swap'), policy)).toBeDefined();
    await admin.query('CREATE OR REPLACE VIEW v_swap AS SELECT ssn AS label FROM customers');
    await waitFor('the new view definition to be noticed', () => cache.cachedFlow(stmt('SELECT upper(label) FROM v_swap'), policy) === undefined);
    expect(await planOf(cache, 'SELECT upper(label) FROM v_swap', policy)).toEqual(['mask']);
  });

  test('temporary tables of other sessions do not clear the cache', async () => {
    const cache = newCache({ refreshMs: 50 });
    const fields = await rowDescriptionOf('SELECT id FROM customers');
    await cache.prefetch([fields[0]!.tableOid]);
    const other = new pg.Client({ host, port, user: role, password, database: dbName });
    await other.connect();
    try {
      await other.query('CREATE TEMP TABLE scratch (x int)');
      await new Promise((r) => setTimeout(r, 300));
      expect(cache.columnSources(fields).missing).toEqual([]);
    } finally {
      await other.end();
    }
  });
});

describe('the connection', () => {
  test('a catalog connection killed while idle is replaced without the caller noticing', async () => {
    const cache = newCache();
    await cache.tableColumns(['public.customers']);
    const pid = pids[pids.length - 1]!;
    await superuser.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor('the backend to go', async () => (await superuser.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0);
    expect(await cache.tableColumns(['public.shuffled'])).toEqual(new Map([['public.shuffled', ['a', 'c', 'd']]]));
    expect(pids[pids.length - 1]).not.toBe(pid);
  });

  test('lookups fail closed with a clear error when the database cannot be reached, and after close()', async () => {
    const unreachable = newCache({ refreshMs: 0 }, () => Promise.reject(new Error('connection refused')));
    const err = (await unreachable.prefetch([1259]).catch((e: unknown) => e)) as GatewayError;
    expect(err.code).toBe('AGENTDB_ERR_GATEWAY_CATALOG');
    expect(err.message).toMatch(/could not be read.*connection refused/);
    await expect(unreachable.flowFor(stmt('SELECT * FROM v_code'), compileMasking([{ columns: { 'customers.ssn': 'redact' } }], randomBytes(32)))).rejects.toMatchObject({
      code: 'AGENTDB_ERR_GATEWAY_CATALOG',
    });
    // Nothing was cached from the failure: the column is still unknown.
    expect(unreachable.columnSources([{ tableOid: 1259, columnAttr: 1 }]).sources).toEqual([null]);

    const cache = newCache();
    await cache.tableColumns(['public.customers']);
    cache.close();
    await expect(cache.tableColumns(['public.shuffled'])).rejects.toMatchObject({ code: 'AGENTDB_ERR_GATEWAY_CATALOG_CLOSED' });
    expect(cache.columnSources([{ tableOid: 1259, columnAttr: 1 }]).sources).toEqual([null]);
  });
});
