// Runs a program to completion and collects what it printed: the CLI, psql and the other client programs, pgbench.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Collected {
  /** the exit code; -1 when a signal ended it */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** from spawn to exit */
  ms: number;
}

export interface CollectOptions {
  env?: NodeJS.ProcessEnv;
  /** killed with SIGKILL past this; default one minute */
  timeoutMs?: number;
  /** a file descriptor to write stdout to instead of collecting it */
  stdoutFd?: number;
}

/** Starts `cmd`; `done` resolves once it has exited and both pipes are drained, so no trailing output is lost. */
export function startCollecting(cmd: string, args: readonly string[], opts: CollectOptions = {}): { child: ChildProcess; done: Promise<Collected> } {
  const started = Date.now();
  const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', opts.stdoutFd ?? 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const done = new Promise<Collected>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { child, done };
}

/** Runs `cmd` to completion and collects its output (see startCollecting). */
export const runCollecting = (cmd: string, args: readonly string[], opts?: CollectOptions): Promise<Collected> => startCollecting(cmd, args, opts).done;
