// pgbouncer in session mode as the yardstick a connection pooler sets: clients reach it over TLS (like every
// path), it reaches PostgreSQL without TLS (like the gateway). It refuses to run as root, so as root it runs
// as the postgres user, with its files owned by that user.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../src/server/index.js';
import { BenchError } from './errors.js';
import { giveTo, serviceDir, type ServiceUser } from './service-user.js';
import type { ServerTls } from './server-tls.js';

export interface PgbouncerOptions {
  bin: string;
  dir: string;
  owner: ServiceUser | undefined;
  tls: ServerTls;
  postgres: { host: string; port: number };
  database: string;
  user: string;
  password: string;
}

export interface RunningPgbouncer {
  host: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function startPgbouncer(opts: PgbouncerOptions): Promise<RunningPgbouncer> {
  const dir = await serviceDir(path.join(opts.dir, 'pgbouncer'), opts.owner);
  const host = '127.0.0.1';
  const port = await freePort(host);
  const userlist = path.join(dir, 'userlist.txt');
  const ini = path.join(dir, 'pgbouncer.ini');
  // A plain-text password in the userlist lets pgbouncer answer the client's SCRAM and do SCRAM to PostgreSQL.
  await writeFile(userlist, `${quote(opts.user)} ${quote(opts.password)}\n`, { mode: 0o600 });
  await writeFile(
    ini,
    [
      '[databases]',
      `${opts.database} = host=${opts.postgres.host} port=${opts.postgres.port} dbname=${opts.database}`,
      '[pgbouncer]',
      `listen_addr = ${host}`,
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${userlist}`,
      'pool_mode = session',
      'max_client_conn = 1200',
      'default_pool_size = 100',
      'client_tls_sslmode = require',
      `client_tls_cert_file = ${opts.tls.certFile}`,
      `client_tls_key_file = ${opts.tls.keyFile}`,
      'server_tls_sslmode = disable',
      'ignore_startup_parameters = extra_float_digits',
      'logfile =',
      'pidfile =',
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  await giveTo(userlist, opts.owner);
  await giveTo(ini, opts.owner);
  const child = spawn(opts.bin, [ini], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...(opts.owner ? { uid: opts.owner.uid, gid: opts.owner.gid } : {}) });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM'); // immediate shutdown
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 15_000;
  while (!(await accepts(host, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new BenchError('AGENTDB_ERR_BENCH_PGBOUNCER', `pgbouncer did not start: ${log.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host, port, pid: child.pid!, stop };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
