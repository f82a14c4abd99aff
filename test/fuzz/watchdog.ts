// A hang detector for synchronous targets. A timer on the fuzzing thread cannot fire while a run loops forever,
// so a worker thread watches a heartbeat the runs write to shared memory; when it stops for too long, the
// thread names the target, the run and its seed (FUZZ_SEED + FUZZ_PATH=<run> replays exactly that input) and
// kills the process, so a hang is a reported failure and not a stuck CI job.
import { Worker } from 'node:worker_threads';

const WATCHER = `
const { workerData } = require('node:worker_threads');
const beat = new Int32Array(workerData.shared);
setInterval(() => {
  const last = Atomics.load(beat, 1);
  if (last !== 0 && Math.floor(Date.now() / 1000) - last > workerData.limit) {
    const run = Atomics.load(beat, 0) - 1;
    const msg = 'HANG: fuzz target ' + workerData.target + ' made no progress for ' + workerData.limit + ' s in run ' + run +
      ' (replay: FUZZ_TARGET=' + workerData.target + ' FUZZ_SEED=' + workerData.seed + ' FUZZ_PATH=' + run + ')\\n';
    require('node:fs').writeSync(2, msg);
    if (workerData.report) require('node:fs').appendFileSync(workerData.report, JSON.stringify({ target: workerData.target, hang: true, run, seed: workerData.seed }) + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}, 250);
`;

export interface Watchdog {
  /** call at the start of every run */
  beat(): void;
  stop(): Promise<void>;
}

export function startWatchdog(target: string, seed: number, limitSeconds: number, report: string | undefined): Watchdog {
  const shared = new SharedArrayBuffer(8);
  const beat = new Int32Array(shared);
  // execArgv: [] so that flags of the parent (--input-type=module) do not turn the CommonJS watcher into ESM.
  const worker = new Worker(WATCHER, { eval: true, execArgv: [], workerData: { shared, target, seed, limit: limitSeconds, report } });
  worker.unref();
  return {
    beat() {
      Atomics.add(beat, 0, 1);
      Atomics.store(beat, 1, Math.floor(Date.now() / 1000));
    },
    async stop() {
      await worker.terminate();
    },
  };
}
