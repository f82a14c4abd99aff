// The soak's side of server-process.ts: starts it, waits until it is ready, asks it to count audit events.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { DevInfo } from '../../src/server/index.js';
import { memoryOf, type ProcessMemory } from '../bench/child-memory-request.js';
import type { SoakServerOptions } from './server-process.ts';

export interface SoakServer {
  info: DevInfo;
  pid: number;
  /** per task reason, the number of stored audit events of each type (after the audit log is flushed) */
  /** what the process holds after a full garbage collection */
  memory(): Promise<ProcessMemory>;
  countAudit(reasons: string[]): Promise<Record<string, Record<string, number>>>;
  stop(): Promise<void>;
}

const CHILD = path.join(import.meta.dirname, 'server-process.ts');
const START_TIMEOUT_MS = 120_000;

type ChildMessage =
  | { type: 'ready'; info: DevInfo }
  | { type: 'failed'; message: string }
  | { type: 'audit-count'; counts?: Record<string, Record<string, number>>; error?: string };

export async function startSoakServer(opts: SoakServerOptions): Promise<SoakServer> {
  const child = spawn(process.execPath, ['--expose-gc', '--no-warnings', CHILD, JSON.stringify(opts)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'close' });
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  const info = await new Promise<DevInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agentdb server did not start within ${START_TIMEOUT_MS / 1000} s\n${stderr}`)), START_TIMEOUT_MS);
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(m.info);
      }
      if (m.type === 'failed') reject(new Error(`the agentdb server did not start: ${m.message}`));
    });
    child.once('exit', (code) => reject(new Error(`the agentdb server exited (${code}) while starting (was \`npm run build\` run?)\n${stderr}`)));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return {
    info,
    pid: child.pid!,
    memory: () => memoryOf(child, 'the agentdb server'),
    countAudit: (reasons) =>
      new Promise((resolve, reject) => {
        const onMessage = (m: ChildMessage) => {
          if (m.type !== 'audit-count') return;
          child.off('message', onMessage);
          if (m.counts) resolve(m.counts);
          else reject(new Error(`counting audit events failed: ${m.error}`));
        };
        child.on('message', onMessage);
        child.send({ type: 'audit-count', reasons });
      }),
    stop,
  };
}
