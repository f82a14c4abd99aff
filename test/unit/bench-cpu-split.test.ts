// The bench's CPU split (test/bench/process-cpu.ts) and its quick mode's settings. The split is checked on a
// real Node.js process whose threads each burn a known amount of their own CPU: the figures must land on the
// thread that did the work, whatever else the machine is doing.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, test } from 'vitest';
import { cpuMeter, threadsCpuSeconds } from '../bench/process-cpu.js';
import { QUICK_WORKLOADS, readSettings } from '../bench/settings.js';

// argv[1]: how many worker threads. Each burns WORKER_MS of its own CPU when told "worker", the main thread
// MAIN_MS when told "main"; each command is answered with "done" once all its burning is over.
const CHILD = `
const { Worker } = require('node:worker_threads');
const burn = (ms) => { const used = () => { const u = process.threadCpuUsage(); return u.user + u.system; }; const until = used() + ms * 1000; while (used() < until); };
const workers = [];
for (let i = 0; i < Number(process.argv[1]); i++) {
  const w = new Worker("const { parentPort } = require('node:worker_threads'); const burn = " + burn + "; parentPort.on('message', (ms) => { burn(ms); parentPort.postMessage('done'); });", { eval: true });
  workers.push(w);
}
Promise.all(workers.map((w) => new Promise((r) => w.once('online', r)))).then(() => console.log('ready'));
require('node:readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  const [what, ms] = line.split(' ');
  if (what === 'main') burn(Number(ms));
  else await Promise.all(workers.map((w) => new Promise((r) => { w.once('message', r); w.postMessage(Number(ms)); })));
  console.log('done');
});
`;

const children: ChildProcess[] = [];

async function startChild(workers: number): Promise<{ pid: number; run(command: string): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', CHILD, String(workers)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (want: string) => expect((await lines.next()).value).toBe(want);
  await next('ready');
  return {
    pid: child.pid!,
    async run(command) {
      child.stdin!.write(command + '\n');
      await next('done');
    },
  };
}

afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGKILL');
    if (c.exitCode === null && c.signalCode === null) await once(c, 'exit');
  }
});

describe('the bench CPU split by thread', () => {
  test('CPU burnt on the worker thread is counted to the worker, on the main thread to the main thread', async () => {
    const child = await startChild(1);
    const shares = ['all', 'main', 'worker', 'other'] as const;
    const meter = cpuMeter(shares.map((threads) => ({ name: threads, pid: child.pid, threads })));
    await child.run('worker 400');
    const afterWorker = meter()!;
    await child.run('main 250');
    const [all, main, worker, other] = meter()!;
    // /proc counts in 10 ms ticks, and the waiting thread wakes up a little to hand over messages.
    expect(afterWorker[2]).toBeGreaterThanOrEqual(0.38);
    expect(afterWorker[1]).toBeLessThan(0.1);
    expect(worker).toBeGreaterThanOrEqual(0.38);
    expect(worker).toBeLessThan(0.5);
    expect(main).toBeGreaterThanOrEqual(0.23);
    expect(main).toBeLessThan(0.35);
    expect(other).toBeGreaterThanOrEqual(-0.02);
    expect(all).toBeCloseTo(main! + worker! + other!, 5);
  });

  test('a process with more than one worker thread cannot be split (no guessing which is the store writer)', async () => {
    const child = await startChild(2);
    expect(threadsCpuSeconds(child.pid, 'main')).toBeTypeOf('number');
    expect(() => threadsCpuSeconds(child.pid, 'worker')).toThrow(/2 threads named WorkerThread/);
    expect(() => cpuMeter([{ name: 'rest', pid: child.pid, threads: 'other' }])).toThrow(expect.objectContaining({ code: 'AGENTDB_ERR_BENCH_CPU_SPLIT' }));
  });

  test('a process that is gone gives no figure', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    expect(threadsCpuSeconds(child.pid!, 'all')).toBeUndefined();
    expect(threadsCpuSeconds(child.pid!, 'worker')).toBeUndefined();
    expect(cpuMeter([{ name: 'gone', pid: child.pid!, threads: 'main' }])()).toBeUndefined();
  });
});

describe('the bench quick mode settings', () => {
  const base = { AGENTDB_BENCH_PGBENCH: '/bin/true', AGENTDB_BENCH_PGBOUNCER: 'none' };

  test('AGENTDB_BENCH_QUICK=1 runs the simple TPS, latency and CLI start-up workloads, shorter, into its own results file', () => {
    const s = readSettings({ ...base, AGENTDB_BENCH_QUICK: '1' }, '/tmp');
    expect(s.quick).toBe(true);
    expect([...s.only!]).toEqual(QUICK_WORKLOADS);
    expect(QUICK_WORKLOADS).toEqual(['tps-simple', 'latency', 'cli-startup']);
    expect(s.seconds).toBe(5);
    expect(s.scale).toBe(1);
    expect(s.resultsFile).toBe('/tmp/bench-results.quick.json');
  });

  test('without it, the full run', () => {
    const s = readSettings({ ...base, AGENTDB_BENCH_QUICK: '0' }, '/tmp');
    expect(s.quick).toBe(false);
    expect(s.only).toBeUndefined();
    expect(s.seconds).toBe(15);
    expect(s.scale).toBe(10);
    expect(s.resultsFile).toBe('/tmp/bench-results.json');
  });

  test('the other knobs still apply, within the quick workloads only', () => {
    const s = readSettings({ ...base, AGENTDB_BENCH_QUICK: '1', AGENTDB_BENCH_ONLY: 'latency', AGENTDB_BENCH_SECONDS: '3' }, '/tmp');
    expect([...s.only!]).toEqual(['latency']);
    expect(s.seconds).toBe(3);
    expect(() => readSettings({ ...base, AGENTDB_BENCH_QUICK: '1', AGENTDB_BENCH_ONLY: 'tps-simple,large-result' }, '/tmp')).toThrow(/names large-result/);
    expect(() => readSettings({ ...base, AGENTDB_BENCH_QUICK: 'yes' }, '/tmp')).toThrow(/AGENTDB_BENCH_QUICK=yes/);
  });
});
