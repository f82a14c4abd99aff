import type { Command } from 'commander';
import { logout } from '../../client/index.js';

export function register(program: Command): void {
  program
    .command('logout')
    .description('end the login session on the control plane and forget the token here')
    .action(async () => {
      const was = await logout();
      process.stdout.write(was ? 'Logged out.\n' : 'Not logged in.\n');
    });
}
