// Real PostgreSQL client programs through the gateway, as a user runs them: psql (a script with COPY, exit
// codes through `agentdb exec`, Ctrl-C cancel) and pgbench (simple, extended and prepared protocols). Last,
// the database passwords the gateway holds are looked for everywhere a client or the audit trail could leak them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { devDatabasePassword } from '../../src/server/index.js';
import { loginAlice } from '../helpers/cluster.js';
import { agentdb, loginAgent, startProxyCli, startTestCluster, type CliProcess, type CliResult, type ProxyReady, type TestCluster } from '../helpers/cluster.js';
import { startCollecting, type Collected } from '../helpers/spawn.js';

const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const HAS_PSQL = onPath('psql');
const HAS_PGBENCH = onPath('pgbench');
const needs = (cmd: string, has: boolean, name: string) => (has ? name : `${name} [SKIPPED: ${cmd} is not on PATH]`);
if (!HAS_PSQL) console.warn('clients.test.ts: psql is not on PATH; the psql tests are skipped');
if (!HAS_PGBENCH) console.warn('clients.test.ts: pgbench is not on PATH; the pgbench tests are skipped');

let tc: TestCluster;
/** the demo agent: what `agentdb exec` runs as */
let home: string;
/** alice, a person: the agent policy refuses DDL, pg_sleep and tables other than customers/orders, which psql scripts and pgbench need */
let personHome: string;
/** scripts for psql; not under the client's AGENTDB_HOME */
let scratch: string;
let adminUrl: string;
let admin: pg.Client;
/** Every AGENTDB_HOME a client used in this suite, searched for secrets at the end. */
const clientHomes: string[] = [];
/** Everything any agentdb command printed in this suite, searched for secrets at the end. */
const cliOutput: string[] = [];
/** The environment `agentdb exec` gave its child. */
let execChildEnv: Record<string, string> | undefined;

beforeAll(async () => {
  tc = await startTestCluster('clients');
  home = await tc.newHome();
  scratch = await tc.newHome();
  personHome = await tc.newHome();
  clientHomes.push(home, personHome);
  await loginAgent(tc, home);
  const login = await loginAlice(tc, personHome);
  cliOutput.push(login.output.join('\n'), login.stderr);
  adminUrl = tc.cluster.info.databases[0]!.adminUrl;
  admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await tc?.close();
});

async function cli(args: string[], timeoutMs?: number): Promise<CliResult> {
  const r = await agentdb(home, args, {}, timeoutMs);
  cliOutput.push(r.stdout, r.stderr);
  return r;
}

/** `agentdb proxy` as alice, as database user app_rw. */
async function withProxy<T>(task: string, fn: (ready: ProxyReady) => Promise<T>): Promise<T> {
  const { proc, ready } = await startProxyCli(personHome, ['--db', 'customers', '--db-user', 'app_rw', '--task', task]);
  try {
    return await fn(ready);
  } finally {
    await stopProxy(proc);
  }
}

async function stopProxy(proc: CliProcess): Promise<void> {
  const code = await proc.stop();
  cliOutput.push(proc.output.join('\n'), proc.stderr);
  expect(code).toBe(0);
}


/** The environment for a client program: no PG* settings of the machine running the tests, no ~/.psqlrc. */
function clientEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  return { ...env, PGCONNECT_TIMEOUT: '30', ...extra };
}

const start = (cmd: string, args: string[], env: NodeJS.ProcessEnv = clientEnv()) => startCollecting(cmd, args, { env, timeoutMs: 120_000 });

const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => start(cmd, args, env).done;

/** libpq arguments for the proxy, as a user would type them. */
const viaProxy = (r: ProxyReady) => ['-h', r.host, '-p', String(r.port), '-U', r.dbUser, tc.database];

async function waitForActive(sql: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query = $1", [sql]);
    if (r.rows[0].n > 0) return;
    if (Date.now() > deadline) throw new Error(`"${sql}" never became active`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('psql', () => {
  test.skipIf(!HAS_PSQL)(needs('psql', HAS_PSQL, 'psql through agentdb proxy runs a script: temp table, insert, COPY in and out'), async () => {
    const script = path.join(scratch, 'script.sql');
    await writeFile(
      script,
      [
        '\\set ON_ERROR_STOP on',
        'CREATE TEMP TABLE notes (id int PRIMARY KEY, body text);',
        "INSERT INTO notes VALUES (1, 'first'), (2, 'second');",
        '\\copy notes from stdin',
        '3\tthird',
        '\\.',
        'SELECT count(*) AS n FROM notes;',
        '\\copy (SELECT id, body FROM notes ORDER BY id) to stdout',
        '',
      ].join('\n'),
    );
    await withProxy('psql script', async (ready) => {
      const r = await run('psql', ['-X', '-q', '-A', '-t', '-f', script, ...viaProxy(ready)], clientEnv({ PGSSLMODE: 'disable', PGPASSWORD: ready.password }));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('3\n1\tfirst\n2\tsecond\n3\tthird\n');
      expect(r.stderr).toBe('');
    });
  });

  test.skipIf(!HAS_PSQL)(needs('psql', HAS_PSQL, "agentdb exec runs psql as app_rw and passes psql's exit code through"), async () => {
    const ok = await cli(['exec', '--db', 'customers', '--task', 'exec psql', '--', 'psql', '-X', '-A', '-t', '-c', 'select current_user']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('app_rw\n');

    // What psql itself answers to the same failing command, straight to PostgreSQL: exec must give exactly that.
    const direct = await run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-c', 'select 1/0', adminUrl]);
    expect(direct.code).not.toBe(0);
    const failed = await cli(['exec', '--db', 'customers', '--task', 'exec psql', '--', 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'select 1/0']);
    expect(failed.code).toBe(direct.code);
    expect(failed.stderr).toMatch(/division by zero/);

    // A script stopped by ON_ERROR_STOP exits 3: a different code, also passed through unchanged.
    const script = path.join(scratch, 'fails.sql');
    await writeFile(script, 'SELECT 1;\nSELECT 1/0;\nSELECT 2;\n');
    const stopped = await cli(['exec', '--db', 'customers', '--task', 'exec psql', '--', 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-f', script]);
    expect(stopped.code).toBe(3);
  });

  test.skipIf(!HAS_PSQL)(needs('psql', HAS_PSQL, 'Ctrl-C in psql cancels a running statement through the proxy'), async () => {
    await withProxy('psql cancel', async (ready) => {
      const p = start('psql', ['-X', '-c', 'select pg_sleep(30)', ...viaProxy(ready)], clientEnv({ PGSSLMODE: 'disable', PGPASSWORD: ready.password }));
      await waitForActive('select pg_sleep(30)');
      p.child.kill('SIGINT');
      const r = await p.done;
      expect(r.stderr).toMatch(/canceling statement due to user request/);
      expect(r.code).not.toBe(0);
      // Well under the 30 s the statement would have slept.
      expect(r.ms).toBeLessThan(20_000);
    });
  });
});

describe('pgbench', () => {
  const tables = ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history'];

  beforeAll(async () => {
    if (!HAS_PGBENCH) return;
    // Initialising needs DDL and COPY as the owner: straight to PostgreSQL with the admin URL, not through the gateway.
    const init = await run('pgbench', ['-i', '-s', '1', '-q', adminUrl]);
    if (init.code !== 0) throw new Error(`pgbench -i failed (${init.code}): ${init.stderr}`);
    await admin.query(`GRANT SELECT, UPDATE, INSERT ON ${tables.join(', ')} TO app_rw`);
  }, 180_000);

  /** Runs pgbench through a fresh proxy; returns how many transactions ran and failed. */
  async function bench(task: string, args: string[]): Promise<{ processed: number; failed: number; run: Collected }> {
    return withProxy(task, async (ready) => {
      const r = await run('pgbench', [...args, ...viaProxy(ready)], clientEnv({ PGSSLMODE: 'disable', PGPASSWORD: ready.password }));
      expect(r.code, `pgbench ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`).toBe(0);
      const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? NaN);
      // pgbench 15+ prints the failed count; older versions abort the run (non-zero exit) on any failure.
      const failed = Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0);
      return { processed, failed, run: r };
    });
  }

  test.skipIf(!HAS_PGBENCH)(needs('pgbench', HAS_PGBENCH, 'select-only, 4 clients on 2 threads (simple protocol)'), async () => {
    const b = await bench('pgbench simple', ['-S', '-c', '4', '-j', '2', '-T', '3']);
    expect(b.processed).toBeGreaterThan(0);
    expect(b.failed).toBe(0);
  });

  test.skipIf(!HAS_PGBENCH)(needs('pgbench', HAS_PGBENCH, 'select-only over the extended protocol'), async () => {
    const b = await bench('pgbench extended', ['-M', 'extended', '-S', '-T', '3']);
    expect(b.processed).toBeGreaterThan(0);
    expect(b.failed).toBe(0);
  });

  test.skipIf(!HAS_PGBENCH)(needs('pgbench', HAS_PGBENCH, 'the TPC-B-like script with prepared statements, 2 clients'), async () => {
    const before = Number((await admin.query('SELECT count(*) AS n FROM pgbench_history')).rows[0].n);
    const b = await bench('pgbench prepared', ['-M', 'prepared', '-T', '3', '-c', '2']);
    expect(b.processed).toBeGreaterThan(0);
    expect(b.failed).toBe(0);
    // The writes really happened: each transaction inserts one history row.
    const after = Number((await admin.query('SELECT count(*) AS n FROM pgbench_history')).rows[0].n);
    expect(after - before).toBeGreaterThanOrEqual(b.processed);
  });
});

describe('agentdb proxy tells the client why it cannot connect', () => {
  test('after logout, once its certificate has expired, a new connection gets a FATAL error saying to log in again', async () => {
    const other = await tc.newHome();
    clientHomes.push(other);
    await loginAgent(tc, other);
    const { proc, ready } = await startProxyCli(other, ['--db', 'customers', '--task', 'renewal after logout', '--ttl', '3s']);
    try {
      const out = await agentdb(other, ['logout']);
      cliOutput.push(out.stdout, out.stderr);
      expect(out.code).toBe(0);
      // The proxy can no longer renew its certificate: the login it holds was revoked.
      await new Promise((r) => setTimeout(r, Math.max(0, new Date(ready.expiresAt).getTime() - Date.now()) + 1500));
      const c = new pg.Client({ connectionString: ready.url });
      c.on('error', () => undefined);
      await expect(c.connect()).rejects.toMatchObject({ code: '28000', severity: 'FATAL', message: expect.stringMatching(/^agentdb proxy: .*agentdb login/) });
    } finally {
      await proc.stop();
      cliOutput.push(proc.output.join('\n'), proc.stderr);
    }
  });
});

describe('the database passwords never leave the gateway', () => {
  test('agentdb exec gives its child a libpq environment whose only password is the proxy\'s own secret', async () => {
    const r = await cli(['exec', '--db', 'customers', '--task', 'exec env', '--', process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))']);
    expect(r.code, r.stderr).toBe(0);
    execChildEnv = JSON.parse(r.stdout) as Record<string, string>;
    expect(execChildEnv).toMatchObject({ PGHOST: '127.0.0.1', PGUSER: 'app_rw', PGDATABASE: tc.database, PGSSLMODE: 'disable' });
    // PGPASSWORD is the proxy's per-run secret (random, 32 bytes); the test below shows no database password is anywhere.
    expect(execChildEnv.PGPASSWORD).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(execChildEnv.DATABASE_URL).toBe(`postgres://app_rw:${execChildEnv.PGPASSWORD}@127.0.0.1:${execChildEnv.PGPORT}/${tc.database}?sslmode=disable`);
  });

  test('after everything above: no password of app_rw or app_ro in the client home, the exec environment, CLI output or the server store', async () => {
    const secrets = (['app_rw', 'app_ro'] as const).map((role) => ({ role, password: devDatabasePassword(adminUrl, role) }));
    // These are the real credentials, so finding none of them means something.
    for (const { role, password } of secrets) {
      const url = new URL(adminUrl);
      const c = new pg.Client({ host: url.hostname, port: Number(url.port), database: tc.database, user: role, password });
      await c.connect();
      expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe(role);
      await c.end();
    }
    const forms = (p: string) => [p, Buffer.from(p).toString('base64'), Buffer.from(p).toString('hex')];

    const homeFiles = (await Promise.all(clientHomes.map((h) => filesUnder(h)))).flat();
    expect(homeFiles.length).toBeGreaterThan(0);
    const homeBytes = await Promise.all(homeFiles.map((f) => readFile(f)));

    const dbFiles = (await readdir(tc.dataDir)).filter((f) => f.startsWith('agentdb.db')).map((f) => path.join(tc.dataDir, f));
    expect(dbFiles.length).toBeGreaterThan(0);
    const dbBytes = await Promise.all(dbFiles.map((f) => readFile(f)));
    // The store does hold what happened (audit events and recordings), so the search below looks at real content.
    expect(dbBytes.some((b) => b.includes('select current_user'))).toBe(true);

    expect(execChildEnv).toBeDefined();
    const envText = JSON.stringify(execChildEnv);
    const output = cliOutput.join('\n');
    expect(output.length).toBeGreaterThan(0);

    for (const { role, password } of secrets) {
      for (const form of forms(password)) {
        for (const [i, bytes] of homeBytes.entries()) expect(bytes.includes(form), `${role} password in ${homeFiles[i]}`).toBe(false);
        expect(envText.includes(form), `${role} password in the exec environment`).toBe(false);
        expect(output.includes(form), `${role} password in CLI output`).toBe(false);
        for (const [i, bytes] of dbBytes.entries()) expect(bytes.includes(form), `${role} password in ${dbFiles[i]}`).toBe(false);
      }
    }
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}
