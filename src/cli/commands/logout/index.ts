import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('logout')
    .description('end the login session on the control plane and forget the token here')
    .action(async () => (await import('./run.js')).run());
}
