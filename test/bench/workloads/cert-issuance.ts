// Workload 6: the control plane's certificate issuance rate: POST /v1/certs as `agentdb proxy` sends it, with
// the demo agent's login token, many requests in flight for a fixed time.
import { generateClientKey } from '../../../src/ca/index.js';
import { AGENT, requestCert, type CertRequest } from '../agent-access.js';
import type { BenchEnv } from '../environment.js';
import type { Workload } from '../workload.js';

const IN_FLIGHT = 16;
const SECONDS = 3;

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
    const started = process.hrtime.bigint();
    const issued = await issueFor(env, pool, SECONDS * 1000);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return [{ figure: 'cert-issuance', series: 'control plane', value: issued / seconds, unit: 'per s' }];
  },
  targets: [{ name: 'Workload 6: certificate issuances per second', figure: 'cert-issuance', series: 'control plane', op: '>=', target: 2000 }],
};
