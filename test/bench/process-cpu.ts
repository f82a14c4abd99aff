// CPU time a process has used (user + system, all its threads), from /proc. The bench divides it by the
// transactions of a run: the CPU a path's middle process (pgbouncer, the gateway, the proxy) spends per
// transaction. Unlike a sampling profile, which counts the time a process waits for a core it lost to
// pgbench or PostgreSQL against whatever it was doing, this is the work it did.
import { readFileSync } from 'node:fs';

// USER_HZ: Linux reports these fields in 1/100 s on every architecture Node runs on.
const TICKS_PER_SECOND = 100;

/** Seconds of CPU used so far by `pid`, or undefined where /proc is not there (not Linux) or the process is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SECOND : undefined;
}

/** Starts counting the CPU of `pids`; the returned function gives the seconds used since, or undefined. */
export function cpuMeter(pids: readonly number[]): () => number | undefined {
  const read = () => {
    let total = 0;
    for (const pid of pids) {
      const s = processCpuSeconds(pid);
      if (s === undefined) return undefined;
      total += s;
    }
    return total;
  };
  const start = read();
  return () => {
    const end = read();
    return start === undefined || end === undefined ? undefined : end - start;
  };
}
