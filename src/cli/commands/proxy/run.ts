// `agentdb proxy`: a local listener until Ctrl-C; says how to connect, or one JSON line for scripts.
import path from 'node:path';
import chalk from 'chalk';
import type { DbFlags } from '../db-flags.js';
import { openProxy } from '../open-proxy.js';
import { printJson } from '../../output.js';
import { waitForShutdown } from '../../lifecycle.js';

export type ProxyOptions = DbFlags & { format: string };

export async function run(opts: ProxyOptions): Promise<void> {
  const { proxy, close } = await openProxy(opts, (err) => process.stderr.write(`agentdb proxy: ${err.message}\n`));
  const i = proxy.info;
  if (opts.format === 'json') {
    printJson({ host: i.host, port: i.port, ...(i.socket ? { socket: i.socket } : {}), url: i.url, password: i.password, db: i.db, dbUser: i.dbUser, task: i.task, expiresAt: i.expiresAt });
  } else {
    process.stdout.write(
      [
        `Proxy for ${chalk.bold(i.db)} as database user ${chalk.bold(i.dbUser)} listening on ${i.host}:${i.port}${i.socket ? ` and ${i.socket}` : ''}`,
        `Task ${i.task.id}: ${i.task.reason}`,
        `Certificate valid until ${i.expiresAt} (renewed automatically for new connections)`,
        '',
        'Connect with (the password is this proxy\'s own, made for this run; every local client must give it):',
        `  psql "${i.url}"`,
        ...(i.socket ? [`  PGPASSWORD=${i.password} psql -h ${path.dirname(i.socket)} -p ${i.port} -U ${i.dbUser} ${i.dbName}`] : []),
        '',
        'Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  }
  await waitForShutdown(close);
}
