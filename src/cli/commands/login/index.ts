import type { Command } from 'commander';
import { DEFAULT_SERVER } from '../../../client/index.js';
import type { LoginOptions } from './run.js';

export function register(program: Command): void {
  program
    .command('login')
    .description('sign in: device code for people, client credentials for bots, the job\'s own OIDC token in CI')
    .option('--server <url>', 'control plane URL (default: the profile\'s, else ' + DEFAULT_SERVER + ')')
    .option('--ca-file <file>', 'the cluster\'s CA certificate (ca.pem) to trust')
    .option('--client-id <id>', 'log in as a bot with the client credentials grant')
    .option('--client-secret-env <var>', 'environment variable holding the client secret (never a flag: flags show up in ps)')
    .option('--token-file <file>', 'log in with an OIDC token read from this file')
    .option('--ci', 'log in with the CI job\'s own OIDC token (GitHub Actions, or AGENTDB_ID_TOKEN / --token-env)')
    .option('--audience <aud>', 'with --ci in GitHub Actions: the token audience to ask for (default: the one the server is configured with)')
    .option('--token-env <var>', 'with --ci: environment variable holding the job\'s token, e.g. one GitLab id_tokens fills (default AGENTDB_ID_TOKEN)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: LoginOptions) => (await import('./run.js')).run(opts));
}
