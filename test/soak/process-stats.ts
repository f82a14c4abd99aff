// What a process holds, read from /proc as `ps` and `ls /proc/PID/fd` would: resident memory and open file
// descriptors (sockets, files, pipes, the event loop's own). Linux only, like the soak.
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessSample {
  /** resident set size, bytes */
  rss: number;
  /** open file descriptors */
  fds: number;
}

export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kib) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return { rss: Number(kib[1]) * 1024, fds: (await readdir(`/proc/${pid}/fd`)).length };
}
