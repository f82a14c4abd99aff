// pgbench as the load generator: it is the client the PostgreSQL world compares poolers with, and as a C
// program it leaves the CPU to what is measured. TPS comes from its report.
import { spawn } from 'node:child_process';
import { BenchError } from './errors.js';
import { libpq, type Endpoint } from './paths.js';
import { cpuMeter } from './process-cpu.js';

export interface PgbenchRun {
  stdout: string;
  stderr: string;
}

export function runPgbench(bin: string, args: string[], conninfo: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<PgbenchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args, conninfo], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      reject(new BenchError('AGENTDB_ERR_BENCH_PGBENCH', `pgbench ${args.join(' ')} failed (${signal ?? code}): ${(stderr || stdout).trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

export interface PgbenchResult {
  /** transactions per second, without connection time, as pgbench reports it */
  tps: number;
  /** CPU the path's middle processes used per transaction, in microseconds (undefined on the direct path) */
  cpuPerTx?: number;
  /** the same split into the endpoint's shares (cpuShares), in microseconds per transaction */
  cpuShares?: { name: string; perTx: number }[];
}

export async function pgbenchTps(bin: string, e: Endpoint, args: string[], seconds: number): Promise<PgbenchResult> {
  const { conninfo, env } = libpq(e);
  const cpu = e.servedBy ? cpuMeter(e.servedBy.map((pid) => ({ name: String(pid), pid, threads: 'all' }))) : undefined;
  const shares = e.cpuShares ? cpuMeter(e.cpuShares) : undefined;
  const r = await runPgbench(bin, ['-n', '-T', String(seconds), ...args], conninfo, env, (seconds + 120) * 1000);
  const cpuSeconds = cpu?.()?.reduce((a, b) => a + b, 0);
  const shareSeconds = shares?.();
  const failed = Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  if (failed > 0) throw new BenchError('AGENTDB_ERR_BENCH_PGBENCH', `pgbench on the ${e.path} path: ${failed} transactions failed`);
  const tps = Number(/^tps = ([\d.]+)/m.exec(r.stdout)?.[1]);
  if (!Number.isFinite(tps) || tps <= 0) throw new BenchError('AGENTDB_ERR_BENCH_PGBENCH', `pgbench on the ${e.path} path printed no TPS:\n${r.stdout}`);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1]);
  const perTx = (s: number | undefined) => (s !== undefined && transactions > 0 ? (s * 1e6) / transactions : undefined);
  const cpuPerTx = perTx(cpuSeconds);
  const cpuShares = shareSeconds && transactions > 0 ? e.cpuShares!.map((s, i) => ({ name: s.name, perTx: perTx(shareSeconds[i])! })) : undefined;
  return { tps, ...(cpuPerTx !== undefined ? { cpuPerTx } : {}), ...(cpuShares ? { cpuShares } : {}) };
}
