// Workload 6: the control plane's certificate issuance rate: POST /v1/certs as `agentdb proxy` sends it, with
// the demo agent's login token, many requests in flight for a fixed time.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { generateClientKey } from '../../../src/ca/index.js';
import { SQLITE_FILE_NAME } from '../../../src/store/index.js';
import { AGENT, requestCert, type CertRequest } from '../agent-access.js';
import type { BenchEnv } from '../environment.js';
import { cpuMeter, type CpuShare } from '../process-cpu.js';
import type { Workload } from '../workload.js';

const IN_FLIGHT = 16;
const SECONDS = 3;

// CPU per certificate, besides the rate: on the shared 2-core VM the rate moves with whatever else runs, the work
// each issuance costs far less. The server's main thread bounds the rate; the bench's own process is the client (TLS,
// JSON), and its share says how much of the two cores it takes from the server.
const shares = (env: BenchEnv): CpuShare[] => [
  { name: 'server', pid: env.cluster.pid, threads: 'all' },
  { name: 'server main thread', pid: env.cluster.pid, threads: 'main' },
  { name: 'server store writer thread', pid: env.cluster.pid, threads: 'worker' },
  { name: 'client (bench process)', pid: process.pid, threads: 'all' },
];

async function csrs(): Promise<string[]> {
  // Clients make their own keys; the server's cost does not depend on whose key it signs, so a few are reused.
  return Promise.all(Array.from({ length: IN_FLIGHT }, async () => (await generateClientKey()).csr(AGENT)));
}

async function issueFor(env: BenchEnv, pool: string[], ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let issued = 0;
  const base: Omit<CertRequest, 'csr'> = { db: env.database.service, dbUser: env.database.user, dbName: env.database.name, task: 'bench: certificate issuance', ttl: '5m' };
  await Promise.all(
    pool.map(async (csr) => {
      while (Date.now() < deadline) {
        await requestCert(env.login.api, { ...base, csr });
        issued++;
      }
    }),
  );
  return issued;
}

export const certIssuance: Workload = {
  id: 'cert-issuance',
  title: 'control plane: task certificates issued',
  async warmup(env) {
    await issueFor(env, await csrs(), 500);
  },
  async round(env) {
    const pool = await csrs();
    const measured = shares(env);
    const cpu = cpuMeter(measured);
    const started = process.hrtime.bigint();
    const issued = await issueFor(env, pool, SECONDS * 1000);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = cpu();
    // What the server holds while it issues (the rows run before this one fill its store and heap): read after
    // the timed part, since reading the heap forces a full collection.
    const memory = await env.cluster.memory();
    const store = await stat(path.join(env.cluster.dataDir, SQLITE_FILE_NAME)).catch(() => undefined);
    return [
      { figure: 'cert-issuance', series: 'control plane', value: issued / seconds, unit: 'per s' },
      ...(used ?? []).map((s, i) => ({ figure: 'cert-issuance-cpu', series: measured[i]!.name, value: (s * 1e6) / issued, unit: 'µs CPU/cert' })),
      { figure: 'cert-issuance-state', series: 'server heap after GC', value: memory.heapUsed / 2 ** 20, unit: 'MiB' },
      ...(store ? [{ figure: 'cert-issuance-state', series: 'server store file', value: store.size / 2 ** 20, unit: 'MiB' }] : []),
    ];
  },
  targets: [{ name: 'Workload 6: certificate issuances per second', figure: 'cert-issuance', series: 'control plane', op: '>=', target: 2000 }],
};
