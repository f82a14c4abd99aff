// Workload 5: what an idle session costs the gateway. 1,000 sessions are opened with a task certificate and
// left idle; the server process's RSS (after a full garbage collection) before and after, per session.
// Each round runs a fresh server process (same data directory, so the same CAs and login): in a process
// that already held 1,000 sessions, freed memory is reused and the next thousand would look almost free.
import path from 'node:path';
import pg from 'pg';
import { gatewayTls, loginAgent, taskCertFiles, type ClientCertFiles } from '../agent-access.js';
import type { ClusterProcess } from '../cluster-handle.js';
import type { BenchEnv } from '../environment.js';
import { BenchError } from '../errors.js';
import { NODE_PIPE, nodePg, type Endpoint } from '../paths.js';
import type { ProcessMemory } from '../child-memory-request.js';
import type { Sample, Workload } from '../workload.js';

const SESSIONS = 1000;
const WARM_SESSIONS = 50;
/** sessions opened at once: quick, and far from the gateway's startup timeout */
const CONCURRENCY = 20;

interface OpenSessions {
  clients: pg.Client[];
  /** sessions that ended while they should have stayed open, and why the first one did */
  dropped(): { count: number; first?: string };
  close(): Promise<void>;
}

async function openSessions(e: Endpoint, count: number): Promise<OpenSessions> {
  const clients: pg.Client[] = [];
  let dropped = 0;
  let first: string | undefined;
  let closing = false;
  const close = async () => {
    closing = true;
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  };
  const worker = async () => {
    while (clients.length < count) {
      const c = new pg.Client(nodePg(e));
      c.on('error', (err) => {
        if (closing) return;
        dropped++;
        first ??= err.message;
      });
      clients.push(c);
      await c.connect();
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } catch (err) {
    await close();
    throw new BenchError('AGENTDB_ERR_BENCH_SESSIONS', `opening ${count} sessions through the gateway failed after ${clients.length}: ${(err as Error).message}`);
  }
  return { clients, dropped: () => ({ count: dropped, ...(first ? { first } : {}) }), close };
}

async function backends(env: BenchEnv, user: string): Promise<number> {
  const db = new pg.Client({ connectionString: env.adminUrl });
  await db.connect();
  try {
    return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [user])).rows[0]!.n;
  } finally {
    await db.end();
  }
}

/** Waits until PostgreSQL has at most `max` backends of `user`, so rounds do not pile up connections. */
async function waitForBackends(env: BenchEnv, user: string, max: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let n = await backends(env, user); n > max; n = await backends(env, user)) {
    if (Date.now() > deadline) throw new BenchError('AGENTDB_ERR_BENCH_SESSIONS', `${n} backends of ${user} still open a minute after their sessions were closed`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function perSession(series: string, base: ProcessMemory, loaded: ProcessMemory): Sample[] {
  const kb = (bytes: number) => bytes / 1024 / SESSIONS;
  return [
    { figure: 'idle-memory', series, value: kb(loaded.rss - base.rss), unit: 'KB/session' },
    { figure: 'idle-memory', series: `${series} (JS heap)`, value: kb(loaded.heapUsed - base.heapUsed), unit: 'KB/session' },
    { figure: 'idle-memory', series: `${series} (Buffers)`, value: kb(loaded.arrayBuffers - base.arrayBuffers), unit: 'KB/session' },
  ];
}

/**
 * The same for a fresh bare Node.js pipe (TLS from the client, a TCP socket to PostgreSQL): what an idle
 * connection costs any Node.js relay, the floor under the gateway's figure.
 */
async function pipeMemory(env: BenchEnv, backendsBefore: number): Promise<Sample[]> {
  const pipe = await env.startPipe();
  try {
    const e: Endpoint = { ...env.endpoint(NODE_PIPE)!, host: pipe.host, port: pipe.port };
    const warm = await openSessions(e, WARM_SESSIONS);
    await warm.close();
    await waitForBackends(env, env.database.user, backendsBefore);
    const base = await pipe.memory();
    const open = await openSessions(e, SESSIONS);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      return perSession(NODE_PIPE, base, await pipe.memory());
    } finally {
      await open.close();
      await waitForBackends(env, env.database.user, backendsBefore);
    }
  } finally {
    await pipe.stop();
  }
}

export function idleMemoryWorkload(): Workload {
  // The workload's own server: set up in the first round, then restarted on the same data directory.
  let cert: ClientCertFiles | undefined;
  let closeLogin: (() => Promise<void>) | undefined;

  const freshServer = (env: BenchEnv) => env.startServer(path.join(env.dir, 'idle-memory-server'));

  const endpointOf = async (env: BenchEnv, server: ClusterProcess): Promise<Endpoint> => {
    if (!cert) {
      const login = await loginAgent(server.info, path.join(env.dir, 'idle-memory-agent'));
      closeLogin = () => login.api.close();
      cert = await taskCertFiles(login, { db: env.database.service, dbUser: env.database.user, dbName: env.database.name, task: 'bench: idle sessions', ttl: '1h' });
    }
    const gateway = env.endpoint('gateway')!;
    return {
      ...gateway,
      host: server.info.gateway.host,
      port: server.info.gateway.port,
      tls: gatewayTls(cert),
    };
  };

  return {
    id: 'idle-memory',
    title: `gateway memory per idle session (${SESSIONS} sessions)`,
    paths: ['gateway'],
    async round(env, _endpoints, round) {
      const user = env.database.user;
      const before = await backends(env, user);
      const server = await freshServer(env);
      try {
        const e = await endpointOf(env, server);
        // Warm: the code paths a session runs are compiled and the pools they use exist before the baseline.
        const warm = await openSessions(e, WARM_SESSIONS);
        await warm.close();
        await waitForBackends(env, user, before);
        const base = await server.memory();
        const open = await openSessions(e, SESSIONS);
        let loaded;
        try {
          // Idle means idle: timers and buffers of the handshakes settle first.
          await new Promise((r) => setTimeout(r, 1000));
          loaded = await server.memory();
          const dropped = open.dropped();
          if (dropped.count > 0) throw new BenchError('AGENTDB_ERR_BENCH_SESSIONS', `${dropped.count} of ${SESSIONS} idle sessions were closed while idle (first: ${dropped.first})`);
        } finally {
          await open.close();
        }
        // The pipe's floor once per run: another thousand connections every round would not fit the ten minutes.
        return [...perSession('gateway', base, loaded), ...(round === 0 ? await pipeMemory(env, before) : [])];
      } finally {
        await server.stop();
        await waitForBackends(env, user, before);
      }
    },
    async cleanup() {
      await closeLogin?.();
      await cert?.remove();
    },
    // Issue #13's target (README, Benchmarks): at most 80 KB per idle tunnelled session.
    targets: [{ name: 'Workload 5: gateway RSS per idle session', figure: 'idle-memory', series: 'gateway', op: '<=', target: 80 }],
  };
}
