// The four ways a client reaches the same database in the bench, and how libpq programs (pgbench) and
// node-postgres are told to take each. Every path is encrypted from the client: the direct path and
// pgbouncer with sslmode=verify-ca against the bench CA, the gateway with the task certificate, and the full
// path on loopback to `agentdb proxy`, which holds the TLS tunnel to the gateway.
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { CpuShare } from './process-cpu.js';

export const PATH_NAMES = ['direct', 'pgbouncer', 'gateway', 'full'] as const;
/** A reference path: a bare Node.js TLS pipe (node-pipe-process.ts), the floor any Node.js relay starts from. */
export const NODE_PIPE = 'pipe';
export type PathName = (typeof PATH_NAMES)[number] | typeof NODE_PIPE;
/** The four paths and the bare pipe beside them, for the workloads where the pipe's figure explains the gateway's. */
export const WITH_PIPE: readonly PathName[] = [...PATH_NAMES, NODE_PIPE];

export const PATH_LABELS: Record<PathName, string> = {
  direct: 'direct (TLS to PostgreSQL)',
  pgbouncer: 'pgbouncer (session mode, client TLS)',
  gateway: 'gateway (task certificate, no proxy)',
  full: 'full path (agentdb proxy -> gateway)',
  pipe: 'pipe (a bare Node.js TLS-terminating pipe to PostgreSQL: no framing, policy or audit; measured for simple TPS, latency, the large result and idle memory)',
};

export interface Endpoint {
  path: PathName;
  host: string;
  port: number;
  database: string;
  user: string;
  /** the processes between the client and PostgreSQL (pgbouncer, the agentdb server, the proxy): their CPU is the path's cost */
  servedBy?: number[];
  /** the servedBy processes' CPU split by process and thread, each share reported beside the total */
  cpuShares?: CpuShare[];
  /** the direct and pgbouncer paths log in with the database password; the others never see one */
  password?: string;
  tls?: {
    rootCertFile: string;
    caPem: string;
    /** a client certificate: the task certificate on the gateway path */
    client?: { certFile: string; keyFile: string; certPem: string; keyPem: string };
  };
}

/** The share of the full path's CPU that is `agentdb proxy`'s (a process of its own). */
export const PROXY_SHARE = 'proxy';

/**
 * How the CPU behind the gateway (and, on the full path, the proxy) splits: the proxy process and the agentdb
 * server process (on the gateway path that is the total already), and of the server its main thread (TLS,
 * framing, policy, audit event and journal for every session), the store writer thread (SQLite inserts of
 * audit events and recordings) and its other threads (V8's GC helpers, libuv's pool). The server process also
 * runs the control plane and the IdP, idle while pgbench runs.
 */
export function cpuShares(gatewayPid: number, proxyPid?: number): CpuShare[] {
  return [
    ...(proxyPid !== undefined
      ? [
          { name: PROXY_SHARE, pid: proxyPid, threads: 'all' as const },
          { name: 'gateway process', pid: gatewayPid, threads: 'all' as const },
        ]
      : []),
    { name: 'gateway main thread', pid: gatewayPid, threads: 'main' },
    { name: 'gateway store writer thread', pid: gatewayPid, threads: 'worker' },
    { name: 'gateway other threads', pid: gatewayPid, threads: 'other' },
  ];
}

/** The series of a share of `path`'s CPU figure, e.g. "full: proxy". */
export const shareSeries = (path: PathName, share: string): string => `${path}: ${share}`;

// A file that is never there: libpq then reads no password file at all (/dev/null would draw a warning).
const NO_PASSFILE = path.join(tmpdir(), 'agentdb-bench-no-such-pgpass');

/** A libpq connection string plus the environment to run a libpq program with (the password stays out of argv). */
export function libpq(e: Endpoint): { conninfo: string; env: NodeJS.ProcessEnv } {
  const words: Record<string, string> = {
    host: e.host,
    port: String(e.port),
    dbname: e.database,
    user: e.user,
    sslmode: e.tls ? 'verify-ca' : 'disable',
    connect_timeout: '30',
    ...(e.tls ? { sslrootcert: e.tls.rootCertFile } : {}),
    ...(e.tls?.client ? { sslcert: e.tls.client.certFile, sslkey: e.tls.client.keyFile } : {}),
  };
  const conninfo = Object.entries(words).map(([k, v]) => `${k}='${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(' ');
  // Nothing of the machine's own libpq settings (PGSSLMODE, PGOPTIONS, ~/.pgpass) may change what is measured.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env.PGPASSFILE = NO_PASSFILE;
  if (e.password !== undefined) env.PGPASSWORD = e.password;
  return { conninfo, env };
}

export function nodePg(e: Endpoint): pg.ClientConfig {
  return {
    host: e.host,
    port: e.port,
    database: e.database,
    user: e.user,
    ...(e.password !== undefined ? { password: e.password } : {}),
    ssl: e.tls
      ? {
          ca: e.tls.caPem,
          // verify-ca, as for libpq: the chain is checked, the host name is not (the servers are all on loopback)
          checkServerIdentity: () => undefined,
          ...(e.tls.client ? { cert: e.tls.client.certPem, key: e.tls.client.keyPem } : {}),
        }
      : false,
  };
}
