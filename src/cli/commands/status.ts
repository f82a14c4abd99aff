import type { Command } from 'commander';
import { ApiClient } from '../../client/index.js';
import { printJson } from '../output.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('who you are logged in as, with which roles, until when')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { format: string }) => {
      const { api, profile } = await ApiClient.fromProfile();
      try {
        const me = await api.get<{ identity: { name: string; kind: string; roles: string[]; traits: Record<string, string[]> }; expiresAt: string }>('/v1/whoami');
        if (opts.format === 'json') printJson({ server: profile.server, ...me });
        else {
          process.stdout.write(
            `Logged in as ${me.identity.name} (${me.identity.kind}) to ${profile.server}\nRoles: ${me.identity.roles.join(', ')}\nValid until: ${me.expiresAt}\n`,
          );
        }
      } finally {
        await api.close();
      }
    });
}
