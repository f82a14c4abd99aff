// The bench's side of cluster-process.ts: starts it, waits until it is ready, asks it for its memory.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { DevInfo } from '../../src/server/index.js';
import { BenchError } from './errors.js';
import { memoryOf, type ProcessMemory } from './child-memory-request.js';

export interface ClusterProcess {
  info: DevInfo;
  pid: number;
  dataDir: string;
  /** what the process holds after a full garbage collection */
  memory(): Promise<ProcessMemory>;
  stop(): Promise<void>;
}

const CHILD = path.join(import.meta.dirname, 'cluster-process.ts');
const START_TIMEOUT_MS = 120_000;

type ChildMessage =
  | { type: 'ready'; info: DevInfo }
  | { type: 'failed'; message: string };

export interface ClusterProcessOptions {
  /** superuser URL of the PostgreSQL the gateway fronts */
  adminUrl: string;
  databaseName: string;
  dataDir: string;
  /** the role the bench logs in with, and the relations it must be allowed to read */
  role: string;
  /** columns the role masks on top of the demo's (schema.table.column -> strategy) */
  maskedColumns?: Record<string, unknown>;
  tables: string[];
}

export async function startClusterProcess(opts: ClusterProcessOptions): Promise<ClusterProcess> {
  // AGENTDB_BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it exits (node --cpu-prof).
  const prof = process.env.AGENTDB_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.AGENTDB_BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, ['--expose-gc', '--no-warnings', ...prof, CHILD, JSON.stringify(opts)], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'close' });
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const info = await new Promise<DevInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BenchError('AGENTDB_ERR_BENCH_CLUSTER', `the agentdb server did not start within ${START_TIMEOUT_MS / 1000} s\n${stderr}`)), START_TIMEOUT_MS);
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(m.info);
      }
      if (m.type === 'failed') reject(new BenchError('AGENTDB_ERR_BENCH_CLUSTER', `the agentdb server did not start: ${m.message}`));
    });
    child.once('exit', (code) => reject(new BenchError('AGENTDB_ERR_BENCH_CLUSTER', `the agentdb server exited (${code}) while starting (was \`npm run build\` run?)\n${stderr}`)));
    child.once('error', reject);
  }).catch(async (err: unknown) => {
    await kill();
    throw err;
  });
  return {
    info,
    pid: child.pid!,
    dataDir: opts.dataDir,
    memory: () => memoryOf(child, 'the agentdb server'),
    stop: kill,
  };
}
