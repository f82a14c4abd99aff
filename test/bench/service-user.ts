// PostgreSQL and pgbouncer refuse to run as root. As root the bench runs them as the `postgres` user, so the
// files they read (TLS keys, configuration) must belong to that user; as anyone else they run as we do.
import { execFileSync } from 'node:child_process';
import { chown, mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { BenchError } from './errors.js';

export interface ServiceUser {
  uid: number;
  gid: number;
}

/** The user daemons run as: `postgres` when we are root, undefined (ourselves) otherwise. */
export function serviceUser(): ServiceUser | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch (err) {
    throw new BenchError('AGENTDB_ERR_BENCH_NO_POSTGRES_USER', 'running as root needs a "postgres" user to run PostgreSQL and pgbouncer as (useradd --system postgres)', { cause: err });
  }
}

/** A private directory the service user owns (0700). */
export async function serviceDir(dir: string, owner: ServiceUser | undefined): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (owner) await chown(dir, owner.uid, owner.gid);
  return dir;
}

/** Hands a file to the service user. */
export async function giveTo(file: string, owner: ServiceUser | undefined): Promise<void> {
  if (owner) await chown(file, owner.uid, owner.gid);
}
