import type { Command } from 'commander';
import type { ServerOptions } from './run.js';

export function register(program: Command): void {
  program
    .command('server')
    .description('run the control plane and the gateway')
    .option('--config <file>', 'server configuration (YAML)')
    .option('--dev', 'development mode: embedded PostgreSQL, built-in OpenID provider, sample data; writes <data-dir>/dev.json')
    .option('--data-dir <dir>', 'where the CA, the audit log and recordings live')
    .option('--log', 'structured JSON logs on stderr')
    .action(async (opts: ServerOptions) => (await import('./run.js')).run(opts));
}
