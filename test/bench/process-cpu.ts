// CPU time a process has used (user + system), from /proc, for the whole process or a share of its threads.
// The bench divides it by the transactions of a run: the CPU a path's middle process (pgbouncer, the gateway,
// the proxy) spends per transaction. Unlike a sampling profile, which counts the time a process waits for a
// core it lost to pgbench or PostgreSQL against whatever it was doing, this is the work it did.
import { readdirSync, readFileSync } from 'node:fs';
import { BenchError } from './errors.js';

// USER_HZ: Linux reports these fields in 1/100 s on every architecture Node runs on.
const TICKS_PER_SECOND = 100;

/** The name Node.js gives the OS thread of a worker_thread started without a `name` option. */
const NODE_WORKER_THREAD = 'WorkerThread';

/**
 * Which of a process's threads a share counts: all of them, the main thread (the event loop: for the gateway,
 * every session's relay), its one worker_thread (the gateway's is the store's writer, writer-worker.ts), or
 * the others (V8's GC helpers, libuv's pool, and threads that have exited since the process started).
 */
export type Threads = 'all' | 'main' | 'worker' | 'other';

/** A named share of one process's CPU, measured over a run beside the total. */
export interface CpuShare {
  name: string;
  pid: number;
  threads: Threads;
}

/** utime + stime of a /proc stat file, in seconds; undefined when the process or thread is gone (or not Linux). */
function statSeconds(file: string): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SECOND : undefined;
}

/** Seconds of CPU used so far by `pid`, every thread (including those that have exited), or undefined. */
export function processCpuSeconds(pid: number): number | undefined {
  return statSeconds(`/proc/${pid}/stat`);
}

/** Seconds used so far by the process's one worker_thread; more or fewer than one cannot be attributed. */
function workerThreadSeconds(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const workers = tids.filter((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === NODE_WORKER_THREAD;
    } catch {
      return false; // exited between the listing and the read
    }
  });
  if (workers.length !== 1) {
    throw new BenchError(
      'AGENTDB_ERR_BENCH_CPU_SPLIT',
      `process ${pid} has ${workers.length} threads named ${NODE_WORKER_THREAD}; the bench attributes exactly one (the store's writer): update the CPU split in test/bench/environment.ts`,
    );
  }
  return statSeconds(`/proc/${pid}/task/${workers[0]}/stat`);
}

/** Seconds of CPU used so far by `threads` of `pid`, or undefined where /proc is not there or the process is gone. */
export function threadsCpuSeconds(pid: number, threads: Threads): number | undefined {
  switch (threads) {
    case 'all':
      return processCpuSeconds(pid);
    case 'main':
      return statSeconds(`/proc/${pid}/task/${pid}/stat`);
    case 'worker':
      return workerThreadSeconds(pid);
    case 'other': {
      // The process's total keeps the time of threads that have exited, which no /proc/<pid>/task entry does.
      const all = processCpuSeconds(pid);
      const main = threadsCpuSeconds(pid, 'main');
      const worker = workerThreadSeconds(pid);
      return all === undefined || main === undefined || worker === undefined ? undefined : all - main - worker;
    }
  }
}

/** Starts counting the CPU of `shares`; the returned function gives the seconds each used since, in order, or undefined. */
export function cpuMeter(shares: readonly CpuShare[]): () => number[] | undefined {
  const read = () => {
    const seconds: number[] = [];
    for (const s of shares) {
      const v = threadsCpuSeconds(s.pid, s.threads);
      if (v === undefined) return undefined;
      seconds.push(v);
    }
    return seconds;
  };
  const start = read();
  return () => {
    const end = read();
    return start === undefined || end === undefined ? undefined : end.map((v, i) => v - start[i]!);
  };
}
