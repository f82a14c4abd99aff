import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import chalk from 'chalk';
import {
  DEFAULT_SERVER, loginFromCi, loginWithClientCredentials, loginWithDeviceCode, loginWithTokenFile, readProfile, type LoginResult,
} from '../../client/index.js';
import { UsageError } from '../exit-codes.js';
import { isTty, printJson } from '../output.js';

interface LoginOptions {
  server?: string;
  caFile?: string;
  clientId?: string;
  clientSecretEnv?: string;
  tokenFile?: string;
  ci?: boolean;
  audience?: string;
  tokenEnv?: string;
  format: string;
}

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
    .action(async (opts: LoginOptions) => {
      const profile = await readProfile();
      const server = opts.server ?? profile?.server ?? DEFAULT_SERVER;
      const caPem = opts.caFile ? await readFile(opts.caFile, 'utf8') : profile?.server === server ? profile.caPem : undefined;
      if ((opts.audience || opts.tokenEnv) && !opts.ci) throw new UsageError('--audience and --token-env go with --ci');
      let result: LoginResult;
      if (opts.clientId) {
        if (!opts.clientSecretEnv) throw new UsageError('--client-id needs --client-secret-env VAR');
        const secret = process.env[opts.clientSecretEnv];
        if (!secret) throw new UsageError(`environment variable ${opts.clientSecretEnv} is not set`);
        result = await loginWithClientCredentials(server, caPem, opts.clientId, secret);
      } else if (opts.tokenFile) {
        result = await loginWithTokenFile(server, caPem, opts.tokenFile);
      } else if (opts.ci) {
        result = await loginFromCi(server, caPem, { audience: opts.audience, tokenEnv: opts.tokenEnv });
      } else {
        let waiting: { stop(): void } | undefined;
        try {
          result = await loginWithDeviceCode(server, caPem, (p) => {
            const lines = [
              `To sign in, open ${chalk.bold(p.verificationUriComplete ?? p.verificationUri)}`,
              `and check that it shows the code ${chalk.bold(p.userCode)}`,
            ];
            if (opts.format === 'json') printJson({ userCode: p.userCode, verificationUri: p.verificationUri, verificationUriComplete: p.verificationUriComplete, expiresIn: p.expiresIn });
            else if (isTty()) waiting = showSpinner(lines);
            else process.stdout.write(`To sign in, open ${p.verificationUriComplete ?? p.verificationUri}\nand check that it shows the code ${p.userCode}\nWaiting for you to sign in...\n`);
          });
        } finally {
          waiting?.stop();
        }
      }
      if (opts.format === 'json') printJson({ ok: true, ...result });
      else {
        process.stdout.write(
          `Logged in as ${chalk.bold(result.identity.name)} (${result.identity.kind}) to ${server}\n` +
            `Roles: ${result.identity.roles.join(', ')}\nValid until: ${result.expiresAt}\n`,
        );
      }
    });
}

let spinnerModule: typeof import('../views/spinner.js') | undefined;
function showSpinner(lines: string[]): { stop(): void } {
  // ink is loaded only for a person at a terminal.
  let handle: { stop(): void } | undefined;
  let stopped = false;
  void (spinnerModule ? Promise.resolve(spinnerModule) : import('../views/spinner.js')).then((m) => {
    spinnerModule = m;
    if (!stopped) handle = m.showWaiting(lines, 'Waiting for you to sign in...');
  });
  return {
    stop() {
      stopped = true;
      handle?.stop();
    },
  };
}
