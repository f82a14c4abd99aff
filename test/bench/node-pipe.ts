// The bench's side of node-pipe-process.ts: starts the bare Node.js TLS pipe and waits until it listens.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BenchError } from './errors.js';
import { memoryOf, type ProcessMemory } from './child-memory-request.js';

export interface NodePipe {
  host: string;
  port: number;
  pid: number;
  memory(): Promise<ProcessMemory>;
  stop(): Promise<void>;
}

const CHILD = path.join(import.meta.dirname, 'node-pipe-process.ts');

export async function startNodePipe(opts: { certFile: string; keyFile: string; pgHost: string; pgPort: number }): Promise<NodePipe> {
  const child = spawn(process.execPath, ['--expose-gc', '--no-warnings', CHILD, JSON.stringify(opts)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  const ready = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BenchError('AGENTDB_ERR_BENCH_PIPE', `the Node.js pipe did not start within 30 s\n${stderr}`)), 30_000);
    child.once('message', (m: { type: string; host: string; port: number }) => {
      clearTimeout(timer);
      resolve({ host: m.host, port: m.port });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new BenchError('AGENTDB_ERR_BENCH_PIPE', `the Node.js pipe exited (${code}) while starting\n${stderr}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { ...ready, pid: child.pid!, memory: () => memoryOf(child, 'the Node.js pipe'), stop };
}
