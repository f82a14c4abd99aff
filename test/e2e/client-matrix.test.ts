// The client matrix: every client people and agents bring, run as the demo agent through `agentdb proxy`, each
// asserting real results: masked columns masked exactly as the demo role says (email '***@' + domain, phone and
// card_number all but the last 4 starred, ssn '***'), unmasked ones (name, region) as stored. Clients: psql
// meta-commands and \copy, pg_dump + restore, pgjdbc, psycopg2, psycopg 3, asyncpg, pgx v4, node-postgres,
// postgres.js, SQLAlchemy reflection. The programs live in test/clients/ and print one JSON object per step.
// A client is skipped, with the reason in the test's name, only where it is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { startServerVersionRelay } from '../clients/server-version-relay.js';
import { loginAgent, REPO, startProxyCli, startTestCluster, type ProxyReady, type TestCluster } from '../helpers/cluster.js';

const CLIENTS = path.join(REPO, 'test/clients');
const PYTHON = '/usr/bin/python3';
const JDBC_JAR = '/usr/share/java/postgresql.jar';
const GOPATH = '/usr/share/gocode';
const PGX_DIR = path.join(GOPATH, 'src/github.com/jackc/pgx/v4');

// ---- what is installed, and which versions (printed, so a run's output says what was tried) ----

/** stdout (or stderr, where the tool prints its version there) of a command, or undefined when it cannot run. */
function probe(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 30_000 });
  if (r.error || r.status !== 0) return undefined;
  return (r.stdout.trim() || r.stderr.trim()).split('\n')[0];
}
const onPath = (cmd: string) => probe('sh', ['-c', `command -v ${cmd}`]) !== undefined;
const pyVersion = (mod: string) => probe(PYTHON, ['-c', `import ${mod}; print(${mod}.__version__)`]);
const nodeVersion = (pkg: string) => (JSON.parse(readFileSync(path.join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** Debian installs the driver as postgresql-<version>.jar and postgresql.jar beside it. */
const jdbcVersion = existsSync(JDBC_JAR)
  ? (readdirSync(path.dirname(JDBC_JAR)).map((f) => /^postgresql-(\d+\.\d+[\d.]*)\.jar$/.exec(f)?.[1]).find((v) => v) ?? 'version unknown')
  : undefined;
const versions = {
  psql: probe('psql', ['--version']),
  java: onPath('javac') ? probe('java', ['-version']) : undefined,
  pgjdbc: jdbcVersion,
  psycopg2: pyVersion('psycopg2'),
  psycopg: pyVersion('psycopg'),
  asyncpg: pyVersion('asyncpg'),
  sqlalchemy: pyVersion('sqlalchemy'),
  go: probe('go', ['version']),
  pgx: existsSync(PGX_DIR) ? (probe('dpkg-query', ['-W', '-f', '${Version}', 'golang-github-jackc-pgx-v4-dev']) ?? 'v4 (version unknown)') : undefined,
  pg: nodeVersion('pg'),
  'postgres.js': nodeVersion('postgres'),
};

/** The major version of the run's PostgreSQL: pg_dump refuses to dump a server newer than itself. */
const serverMajor = await (async () => {
  const c = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await c.connect();
  try {
    return Math.floor(Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10_000);
  } finally {
    await c.end();
  }
})();

/** The newest pg_dump on this machine (PATH or Debian's /usr/lib/postgresql/N/bin) with its major version. */
function newestPgDump(): { bin: string; major: number; version: string } | undefined {
  const bins = [probe('sh', ['-c', 'command -v pg_dump'])];
  if (existsSync('/usr/lib/postgresql')) bins.push(...readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin/pg_dump`));
  const found = bins
    .filter((b): b is string => !!b && existsSync(b))
    .map((bin) => ({ bin, version: probe(bin, ['--version']) ?? '' }))
    .map((x) => ({ ...x, major: Number(/(\d+)(?:\.\d+)+/.exec(x.version)?.[1] ?? 0) }))
    .filter((x) => x.major > 0)
    .sort((a, b) => b.major - a.major);
  return found[0];
}
const pgDump = newestPgDump();
const pgDumpFits = !!pgDump && pgDump.major >= serverMajor;
/** The psql that came with a pg_dump, to restore its plain-text output. */
const psqlBeside = (dumpBin: string) => path.join(path.dirname(dumpBin), 'psql');

console.log(
  `client matrix, PostgreSQL ${serverMajor} behind the gateway:\n` +
    Object.entries({ ...versions, pg_dump: pgDump?.version })
      .map(([k, v]) => `  ${k.padEnd(12)} ${v ?? 'not installed'}`)
      .join('\n'),
);

/** The test's name, or why it is skipped when `why` says it must be. */
const named = (name: string, why: string | undefined) => (why ? `${name} [SKIPPED: ${why}]` : name);
const missing = {
  psql: versions.psql ? undefined : 'psql is not on PATH',
  pgDump: pgDump ? undefined : 'pg_dump is not on PATH',
  jdbc: !versions.java ? 'java/javac is not on PATH' : !jdbcVersion ? `${JDBC_JAR} is missing (libpostgresql-jdbc-java)` : undefined,
  psycopg2: versions.psycopg2 ? undefined : `${PYTHON} cannot import psycopg2`,
  psycopg: versions.psycopg ? undefined : `${PYTHON} cannot import psycopg (3)`,
  asyncpg: versions.asyncpg ? undefined : `${PYTHON} cannot import asyncpg`,
  sqlalchemy: versions.sqlalchemy && versions.psycopg2 ? undefined : `${PYTHON} cannot import sqlalchemy and psycopg2`,
  pgx: !versions.go ? 'go is not on PATH' : !versions.pgx ? `${PGX_DIR} is missing (golang-github-jackc-pgx-v4-dev)` : undefined,
};
for (const [client, why] of Object.entries(missing)) if (why) console.warn(`client-matrix: ${client} skipped: ${why}`);

// ---- the cluster, the agent, and the real values the masked ones are checked against ----

interface Customer {
  id: number;
  name: string;
  email: string;
  phone: string;
  card_number: string;
  ssn: string;
  region: string;
}

let tc: TestCluster;
let home: string;
let scratch: string;
let admin: pg.Client;
/** customers 1..10 as stored, read as the owner */
const stored = new Map<number, Customer>();

beforeAll(async () => {
  tc = await startTestCluster('matrix');
  home = await tc.newHome();
  scratch = await mkdtemp(path.join(tmpdir(), 'agentdb-matrix-'));
  await loginAgent(tc, home);
  admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  const r = await admin.query<Customer>('SELECT id, name, email, phone, card_number, ssn, region FROM customers WHERE id <= 10 ORDER BY id');
  for (const c of r.rows) stored.set(c.id, c);
  expect(stored.size).toBe(10);
  // A view and a function, so that psql's \dv and \df have something to list (the sample has neither).
  await admin.query(`
    CREATE VIEW customer_regions AS SELECT id, region FROM customers;
    CREATE FUNCTION order_total(customer integer) RETURNS numeric LANGUAGE sql STABLE AS 'SELECT sum(amount) FROM orders WHERE customer_id = customer';`);
});
afterAll(async () => {
  await admin?.end();
  await tc?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The value the demo role's 'partial 4' strategy gives: every character but the last 4 starred. */
const partial4 = (v: string) => '*'.repeat(v.length - 4) + v.slice(-4);
/** The value the demo role's 'email' strategy gives. */
const maskedEmail = (v: string) => `***@${v.slice(v.lastIndexOf('@') + 1)}`;

/** Checks every column a client returned against the stored row with the same id: masked exactly, or real. */
function expectMasked(rows: unknown[] | undefined, where: string, ids?: number[]): void {
  expect.soft(rows, `${where}: no rows`).toBeDefined();
  if (!rows) return;
  if (ids) expect.soft(rows.map((r) => Number((r as { id: unknown }).id)), `${where}: ids`).toEqual(ids);
  for (const raw of rows) {
    const row = raw as Record<string, unknown>;
    const real = stored.get(Number(row.id));
    expect.soft(real, `${where}: a row with id ${String(row.id)}`).toBeDefined();
    if (!real) continue;
    const at = `${where}, customer ${real.id}`;
    if ('name' in row) expect.soft(row.name, `${at}: name`).toBe(real.name);
    if ('region' in row) expect.soft(row.region, `${at}: region`).toBe(real.region);
    if ('email' in row) expect.soft(row.email, `${at}: email`).toBe(maskedEmail(real.email));
    if ('phone' in row) expect.soft(row.phone, `${at}: phone`).toBe(partial4(real.phone));
    if ('card_number' in row) expect.soft(row.card_number, `${at}: card_number`).toBe(partial4(real.card_number));
    if ('ssn' in row) expect.soft(row.ssn, `${at}: ssn`).toBe('***');
  }
}

/** COPY text or CSV lines of "id, email, ssn": masked as expectMasked says. */
function expectMaskedCopy(text: string, sep: string, where: string): void {
  const lines = text.trim().split('\n');
  const rows = lines.map((l) => {
    const [id, email, ssn] = l.split(sep);
    return { id: Number(id), email, ssn };
  });
  expectMasked(rows, where, [1, 2, 3, 4, 5]);
}

// ---- running a client through a proxy of its own (one task per client) ----

async function withProxy<T>(client: string, fn: (ready: ProxyReady) => Promise<T>): Promise<T> {
  const { proc, ready } = await startProxyCli(home, ['--db', 'customers', '--task', `client matrix: ${client}`]);
  try {
    return await fn(ready);
  } finally {
    await proc.stop();
  }
}

/** The environment of a client program: none of this machine's PG* settings, no ~/.psqlrc, no .pyc files in the tree. */
function clientEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  return { ...env, PGCONNECT_TIMEOUT: '30', PSQLRC: '/dev/null', PYTHONDONTWRITEBYTECODE: '1', ...extra };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = clientEnv(), cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Step {
  step: string;
  ok: boolean;
  rows?: Record<string, unknown>[];
  value?: unknown;
  error?: { code: string; message: string };
}

/** A client program's steps by name. */
class Steps {
  private readonly byName = new Map<string, Step>();

  constructor(
    private readonly client: string,
    private readonly out: Run,
  ) {
    for (const line of out.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const s = JSON.parse(line) as Step;
      this.byName.set(s.step, s);
    }
  }

  /** The step when it ran and succeeded; otherwise a soft failure that says what the client got, and undefined. */
  ok(name: string): Step | undefined {
    const s = this.byName.get(name);
    const why = s ? `${s.error?.code}: ${s.error?.message}` : `did not run (exit ${this.out.code}); stderr:\n${this.out.stderr.slice(-2000)}`;
    expect.soft(s?.ok, `${this.client} ${name}: ${why}`).toBe(true);
    return s?.ok ? s : undefined;
  }
}

/** Runs a client program with the proxy's connection parameters as its arguments. */
async function runClient(client: string, cmd: string, args: string[], ready: ProxyReady, env: Record<string, string> = {}): Promise<Steps> {
  const out = await run(cmd, [...args, ready.host, String(ready.port), ready.dbUser, ready.password, tc.database], clientEnv(env));
  return new Steps(client, out);
}

/** A build made once per run, shared by the tests that need it. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}

const buildJdbc = once(async () => {
  const dir = path.join(scratch, 'java');
  const r = await run('javac', ['-cp', JDBC_JAR, '-d', dir, path.join(CLIENTS, 'JdbcMatrix.java')], process.env);
  if (r.code !== 0) throw new Error(`javac failed: ${r.stderr}`);
  return dir;
});

const buildPgx = once(async () => {
  const bin = path.join(scratch, 'pgx_matrix');
  // Debian packages pgx v4 as GOPATH sources; modules off so `go build` never reaches for a module proxy.
  const r = await run('go', ['build', '-o', bin, '.'], { ...process.env, GOPATH, GO111MODULE: 'off', GOFLAGS: '' }, path.join(CLIENTS, 'pgx_matrix'));
  if (r.code !== 0) throw new Error(`go build failed: ${r.stderr}`);
  return bin;
});

// ---- psql ----

describe('psql', () => {
  const libpq = (r: ProxyReady) => ['-X', '-h', r.host, '-p', String(r.port), '-U', r.dbUser, '-d', tc.database];
  const psqlEnv = (r: ProxyReady) => clientEnv({ PGSSLMODE: 'disable', PGPASSWORD: r.password });

  /** Each meta-command and what its output must hold (psql -A: unaligned, with the footers \d adds from more catalog queries). */
  const META: [string, RegExp[]][] = [
    ['\\d', [/^public\|customers\|table\|/m, /^public\|orders\|table\|/m, /^public\|customer_regions\|view\|/m, /^public\|orders_id_seq\|sequence\|/m]],
    ['\\d orders', [/^customer_id\|integer\|/m, /^amount\|numeric\(10,2\)\|/m, /"orders_customer" btree \(customer_id\)/, /FOREIGN KEY \(customer_id\) REFERENCES customers\(id\)/, /POLICY "orders_in_session_region"/]],
    ['\\d+ customers', [/^email\|text\|/m, /^ssn\|text\|/m, /"customers_pkey" PRIMARY KEY, btree \(id\)/, /TABLE "orders" CONSTRAINT "orders_customer_id_fkey"/]],
    ['\\dt', [/^public\|customers\|table\|/m, /^public\|orders\|table\|/m]],
    ['\\df', [/^public\|order_total\|numeric\|customer integer\|func$/m]],
    ['\\dn', [/^public\|/m]],
    ['\\du', [/^app_rw\|/m]],
    ['\\dv', [/^public\|customer_regions\|view\|/m]],
    ['\\di', [/^public\|customers_pkey\|index\|/m, /^public\|orders_region\|index\|/m]],
  ];

  test.skipIf(!!missing.psql)(named('meta-commands \\d \\d orders \\d+ customers \\dt \\df \\dn \\du \\dv \\di', missing.psql), async () => {
    await withProxy('psql meta-commands', async (ready) => {
      for (const [cmd, expected] of META) {
        const r = await run('psql', [...libpq(ready), '-A', '-v', 'ON_ERROR_STOP=1', '-c', cmd], psqlEnv(ready));
        let why = `psql ${cmd} (exit ${r.code}):\n${r.stderr}`;
        if (r.code !== 0 || r.stderr !== '') {
          // psql -E shows the catalog queries behind the meta-command, so the failure names the statement refused.
          const e = await run('psql', [...libpq(ready), '-E', '-A', '-c', cmd], psqlEnv(ready));
          why += `\nwith -E:\n${e.stdout}\n${e.stderr}`;
        }
        expect.soft(r.code, why).toBe(0);
        expect.soft(r.stderr, why).toBe('');
        if (r.code === 0) for (const re of expected) expect.soft(r.stdout, `psql ${cmd}: ${re}`).toMatch(re);
      }
    });
  });

  test.skipIf(!!missing.psql)(named('\\copy (select ...) to a file writes masked values', missing.psql), async () => {
    const file = path.join(scratch, 'copy-out.txt');
    await withProxy('psql copy', async (ready) => {
      const r = await run('psql', [...libpq(ready), '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (select id, email, ssn from customers order by id limit 5) to '${file}'`], psqlEnv(ready));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('COPY 5\n');
    });
    expectMaskedCopy(await readFile(file, 'utf8'), '\t', 'psql \\copy');
  });
});

// ---- pg_dump and restore ----

describe('pg_dump', () => {
  const libpq = (r: ProxyReady, port = r.port) => ['-h', r.host, '-p', String(port), '-U', r.dbUser];
  const dumpEnv = (r: ProxyReady) => clientEnv({ PGSSLMODE: 'disable', PGPASSWORD: r.password });

  // An older pg_dump sends one statement, SELECT pg_catalog.set_config('search_path', '', false), and then compares
  // versions: the gateway must let that through, so the older pg_dump fails on the version alone.
  test.skipIf(!!missing.pgDump || pgDumpFits)(
    named(`an older pg_dump (${pgDump?.major ?? '?'}) gets through set_config('search_path') and stops only at its server version check`, missing.pgDump ?? (pgDumpFits ? `pg_dump ${pgDump?.major} fits the server: the dump test below runs it` : undefined)),
    async () => {
      await withProxy('pg_dump version check', async (ready) => {
        const r = await run(pgDump!.bin, [...libpq(ready), '--schema-only', tc.database], dumpEnv(ready));
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/aborting because of server version mismatch/);
        expect(r.stderr).not.toMatch(/ERROR|agentdb/);
      });
    },
  );

  // Plain SQL, restored with psql: an archive (-Fc) also dumps the database's own entry, whose catalog columns
  // differ between major versions, and this test is about the tables.
  const schemaFile = () => path.join(scratch, 'schema.sql');
  const dataFile = () => path.join(scratch, 'data.sql');

  /** Dumps the whole schema to schema.sql (checked) and the rows of customers and orders to data.sql; returns what the agent may read. */
  async function dumpThrough(ready: ProxyReady, port: number): Promise<{ customers: number; orders: number }> {
    const schema = await run(pgDump!.bin, [...libpq(ready, port), '--schema-only', '--no-owner', '--no-privileges', '-f', schemaFile(), tc.database], dumpEnv(ready));
    expect(schema.code, schema.stderr).toBe(0);
    const ddl = await readFile(schemaFile(), 'utf8');
    expect(ddl).toMatch(/CREATE TABLE public\.customers/);
    expect(ddl).toMatch(/CREATE TABLE public\.orders/);

    // --enable-row-security: by default pg_dump sets row_security off, and PostgreSQL then refuses to read orders
    // (row security applies to app_rw) rather than return only the agent's region.
    const data = await run(pgDump!.bin, [...libpq(ready, port), '--data-only', '--enable-row-security', '-t', 'customers', '-t', 'orders', '-f', dataFile(), tc.database], dumpEnv(ready));
    expect(data.code, data.stderr).toBe(0);
    // What the agent may read, asked through the same gateway: orders are limited to its region by row security.
    const c = new pg.Client({ connectionString: ready.url });
    await c.connect();
    try {
      return (await c.query<{ customers: number; orders: number }>('SELECT (SELECT count(*) FROM customers)::int AS customers, (SELECT count(*) FROM orders)::int AS orders')).rows[0]!;
    } finally {
      await c.end();
    }
  }

  // Without a pg_dump of the server's version (Debian 12 has 15, the tests run 18), the installed one runs through a
  // relay that reports its own version as the server's: pg_dump's catalog queries and COPYs still go through the
  // proxy and the gateway unchanged, which is what this test is about.
  const viaRelay = !!pgDump && !pgDumpFits;
  const dumpName = `pg_dump ${pgDump?.major ?? ''}${viaRelay ? ` (through a relay reporting server_version ${pgDump!.major}: no pg_dump ${serverMajor} here)` : ''}`;
  test.skipIf(!!missing.pgDump)(named(`${dumpName}: --schema-only, then the data of customers and orders restored into a scratch database: masked, and as many rows as the agent may read`, missing.pgDump), async () => {
    const visible = await withProxy('pg_dump', async (ready) => {
      const relay = viaRelay ? await startServerVersionRelay(ready, /\d+\.\d+/.exec(pgDump!.version)![0]) : undefined;
      try {
        return await dumpThrough(ready, relay?.port ?? ready.port);
      } finally {
        await relay?.close();
      }
    });
    expect(visible.customers).toBe(2000);
    expect(visible.orders).toBeGreaterThan(0);

    // Restored as the owner of a scratch database, straight to PostgreSQL: the dump is what the agent took away.
    const scratchDb = `${tc.database}_restore`;
    await admin.query(`CREATE DATABASE ${scratchDb}`);
    const url = new URL(tc.cluster.info.databases[0]!.adminUrl);
    url.pathname = `/${scratchDb}`;
    try {
      for (const file of [schemaFile(), dataFile()]) {
        const restore = await run(psqlBeside(pgDump!.bin), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file, url.toString()], clientEnv());
        expect(restore.code, `${file}: ${restore.stderr}`).toBe(0);
      }
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        const counts = (await c.query('SELECT (SELECT count(*) FROM customers)::int AS customers, (SELECT count(*) FROM orders)::int AS orders')).rows[0];
        expect(counts).toEqual(visible);
        const unmasked = await c.query(`SELECT count(*)::int AS n FROM customers WHERE email NOT LIKE '***@%' OR ssn <> '***' OR card_number !~ '^\\*+[0-9]{4}$'`);
        expect(unmasked.rows[0].n).toBe(0);
        expectMasked((await c.query('SELECT id, name, email, phone, card_number, ssn, region FROM customers WHERE id <= 5 ORDER BY id')).rows, 'pg_restore', [1, 2, 3, 4, 5]);
      } finally {
        await c.end();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${scratchDb} WITH (FORCE)`);
    }
  });
});

// ---- drivers ----

const SELECT_IDS = [1, 2, 3, 4, 5];

describe('pgjdbc', () => {
  // As configured by default, and with assumeMinServerVersion=9.0, which makes the driver put application_name in
  // the StartupMessage instead of sending SET application_name after connecting (a workaround users can apply).
  const variants: [string, Record<string, string>][] = [
    ['default settings', {}],
    ['assumeMinServerVersion=9.0', { JDBC_PROPS: 'assumeMinServerVersion=9.0' }],
  ];
  for (const [variant, env] of variants) {
    test.skipIf(!!missing.jdbc)(named(`pgjdbc ${versions.pgjdbc} (${variant}): select, a PreparedStatement 6 times (server-prepared from the 5th), DatabaseMetaData`, missing.jdbc), async () => {
      const classes = await buildJdbc();
      const steps = await withProxy(`pgjdbc ${variant}`, (ready) => runClient('pgjdbc', 'java', ['-cp', `${JDBC_JAR}:${classes}`, 'JdbcMatrix'], ready, env));
      steps.ok('connect');
      expectMasked(steps.ok('select')?.rows, 'pgjdbc select', SELECT_IDS);
      const prepared = steps.ok('prepared-6x');
      expectMasked(prepared?.rows, 'pgjdbc PreparedStatement', [1, 2, 3, 4, 5, 6]);
      if (prepared) expect.soft(prepared.value, 'the 6th execution used a named server-side statement').toBe(true);
      const tables = steps.ok('getTables');
      if (tables) expect.soft(tables.value).toEqual(expect.arrayContaining(['customers', 'orders']));
      const columns = steps.ok('getColumns');
      if (columns) expect.soft(columns.value).toEqual(['id', 'name', 'email', 'phone', 'card_number', 'ssn', 'region']);
    });
  }
});

const py = (file: string) => [path.join(CLIENTS, file)];

describe('psycopg2', () => {
  test.skipIf(!!missing.psycopg2)(named(`psycopg2 ${versions.psycopg2}: select, parameterized query, named (server-side) cursor`, missing.psycopg2), async () => {
    const steps = await withProxy('psycopg2', (ready) => runClient('psycopg2', PYTHON, py('psycopg2_matrix.py'), ready));
    steps.ok('connect');
    expectMasked(steps.ok('select')?.rows, 'psycopg2 select', SELECT_IDS);
    expectMasked(steps.ok('parameterized')?.rows, 'psycopg2 parameterized', [7]);
    expectMasked(steps.ok('named-cursor')?.rows, 'psycopg2 named cursor', SELECT_IDS);
  });
});

describe('psycopg 3', () => {
  test.skipIf(!!missing.psycopg)(named(`psycopg ${versions.psycopg}: binary cursor, prepare=True, pipeline mode`, missing.psycopg), async () => {
    const steps = await withProxy('psycopg3', (ready) => runClient('psycopg 3', PYTHON, py('psycopg3_matrix.py'), ready));
    steps.ok('connect');
    expectMasked(steps.ok('binary-cursor')?.rows, 'psycopg binary cursor', SELECT_IDS);
    expectMasked(steps.ok('prepared')?.rows, 'psycopg prepare=True', [1, 2, 3, 4]);
    expectMasked(steps.ok('pipeline')?.rows, 'psycopg pipeline', [1, 2, 3]);
  });
});

describe('asyncpg', () => {
  test.skipIf(!!missing.asyncpg)(named(`asyncpg ${versions.asyncpg}: fetch (binary), a prepared statement reused, copy_from_query`, missing.asyncpg), async () => {
    const steps = await withProxy('asyncpg', (ready) => runClient('asyncpg', PYTHON, py('asyncpg_matrix.py'), ready));
    steps.ok('connect');
    expectMasked(steps.ok('fetch')?.rows, 'asyncpg fetch', SELECT_IDS);
    expectMasked(steps.ok('prepared')?.rows, 'asyncpg prepared', [1, 2, 3, 4]);
    const copy = steps.ok('copy-from-query');
    if (copy) expectMaskedCopy(String(copy.value), ',', 'asyncpg copy_from_query');
  });
});

describe('pgx', () => {
  test.skipIf(!!missing.pgx)(named(`pgx ${versions.pgx}: Query with parameters, a Batch`, missing.pgx), async () => {
    const bin = await buildPgx();
    const steps = await withProxy('pgx', (ready) => runClient('pgx', bin, [], ready));
    steps.ok('connect');
    expectMasked(steps.ok('query-params')?.rows, 'pgx Query', SELECT_IDS);
    const batch = steps.ok('batch');
    expectMasked(batch?.rows, 'pgx Batch', [1, 2, 3]);
    if (batch) expect.soft(batch.value, 'count(*) in the batch').toBe(2000);
  }, 180_000);
});

describe('SQLAlchemy', () => {
  test.skipIf(!!missing.sqlalchemy)(named(`SQLAlchemy ${versions.sqlalchemy}: MetaData.reflect, then a Core select`, missing.sqlalchemy), async () => {
    const steps = await withProxy('sqlalchemy', (ready) => runClient('SQLAlchemy', PYTHON, py('sqlalchemy_reflect.py'), ready));
    const reflected = steps.ok('reflect');
    if (reflected) {
      const tables = reflected.value as Record<string, string[]>;
      expect.soft(tables.customers).toEqual(['id', 'name', 'email', 'phone', 'card_number', 'ssn', 'region']);
      expect.soft(tables.orders).toEqual(['id', 'customer_id', 'region', 'amount', 'status', 'created_at']);
    }
    expectMasked(steps.ok('core-select')?.rows, 'SQLAlchemy Core select', SELECT_IDS);
  });
});

// ---- the two Node.js clients, in process ----

describe('Node.js clients', () => {
  const SELECT = 'SELECT id, name, email, phone, card_number, ssn, region FROM customers ORDER BY id LIMIT 5';
  const PARAM = 'SELECT id, name, email, ssn FROM customers WHERE id = $1';

  test(`node-postgres ${versions.pg}: select (simple protocol), parameterized (extended)`, async () => {
    await withProxy('node-postgres', async (ready) => {
      const c = new pg.Client({ connectionString: ready.url });
      await c.connect();
      try {
        expectMasked((await c.query(SELECT)).rows, 'pg select', SELECT_IDS);
        expectMasked((await c.query(PARAM, [8])).rows, 'pg parameterized', [8]);
      } finally {
        await c.end();
      }
    });
  });

  test(`postgres.js ${versions['postgres.js']}: select, parameterized (named prepared statements)`, async () => {
    await withProxy('postgres.js', async (ready) => {
      const sql = postgres(ready.url, { max: 1, onnotice: () => undefined });
      try {
        expectMasked([...(await sql.unsafe(SELECT))], 'postgres.js select', SELECT_IDS);
        for (const id of [8, 9]) expectMasked([...(await sql`SELECT id, name, email, ssn FROM customers WHERE id = ${id}`)], 'postgres.js parameterized', [id]);
      } finally {
        await sql.end();
      }
    });
  });
});
