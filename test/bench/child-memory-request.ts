// The parent's side of child-memory.ts: asks a child process (started with --expose-gc and an IPC channel)
// for its memory after a full garbage collection.
import type { ChildProcess } from 'node:child_process';
import { BenchError } from './errors.js';

export interface ProcessMemory {
  /** resident set size, live JS heap and Buffer memory (outside the heap), in bytes */
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

type MemoryMessage = { type: 'memory'; gc: boolean } & ProcessMemory;

export function memoryOf(child: ChildProcess, what: string): Promise<ProcessMemory> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string }) => {
      if (m.type !== 'memory') return;
      child.off('message', onMessage);
      const mem = m as MemoryMessage;
      if (!mem.gc) reject(new BenchError('AGENTDB_ERR_BENCH_CLUSTER', `${what} runs without --expose-gc; its memory cannot be measured`));
      else resolve({ rss: mem.rss, heapUsed: mem.heapUsed, arrayBuffers: mem.arrayBuffers });
    };
    child.on('message', onMessage);
    child.send({ type: 'memory' });
  });
}
