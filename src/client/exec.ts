// `agentdb exec`: runs a command with a proxy in this process and the libpq environment pointing at it.
import { spawn } from 'node:child_process';
import type { ProxyInfo } from './proxy.js';

export function pgEnvironment(info: ProxyInfo): Record<string, string> {
  return {
    PGHOST: info.host,
    PGPORT: String(info.port),
    PGUSER: info.dbUser,
    PGDATABASE: info.dbName,
    PGSSLMODE: 'disable',
    // The proxy's own per-run secret, not a database password: the child proves it to the proxy.
    PGPASSWORD: info.password,
    DATABASE_URL: info.url,
  };
}

/** Runs the command to completion; resolves with its exit code (128 + signal number when killed). */
export function runWithEnvironment(command: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command;
    if (!file) return reject(new Error('no command given'));
    const child = spawn(file, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', (err) => reject(err));
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2));
    });
  });
}
