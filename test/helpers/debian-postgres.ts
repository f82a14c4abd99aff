// Debian's PostgreSQL server (the postgresql-15 package .ci/run installs), started for one test file: for the
// clients whose Debian version refuses a newer server (pg_dump 15 dumps only servers up to 15) and for
// checking facts against a second major version. SCRAM auth, loopback only, stopped by the caller.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/server/dev/embedded-postgres.js';

const BIN = '/usr/lib/postgresql/15/bin';

export const debianPostgresInstalled = existsSync(path.join(BIN, 'initdb'));

export interface DebianPostgres {
  port: number;
  /** the superuser's URL (postgres, SCRAM) */
  adminUrl: string;
  stop(): void;
}

/** Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root). */
function asPostgres(cmd: string[]): void {
  if (process.getuid?.() === 0) execFileSync('setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', ...cmd], { stdio: 'pipe' });
  else execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'pipe' });
}

export async function startDebianPostgres(): Promise<DebianPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentdb-pg15-'));
  chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, password, { mode: 0o644 });
  const port = await freePort();
  asPostgres([path.join(BIN, 'initdb'), '-D', data, '-U', 'postgres', '--pwfile', pwfile, '-A', 'scram-sha-256']);
  rmSync(pwfile);
  asPostgres([path.join(BIN, 'pg_ctl'), '-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', path.join(dir, 'log'), '-w', 'start']);
  return {
    port,
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        asPostgres([path.join(BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
