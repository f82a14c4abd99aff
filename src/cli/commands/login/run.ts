// `agentdb login`: device code for people, client credentials for bots, the job's own token in CI.
import { readFile } from 'node:fs/promises';
import chalk from 'chalk';
import {
  DEFAULT_SERVER, loginFromCi, loginWithClientCredentials, loginWithDeviceCode, loginWithTokenFile, readProfile, type LoginResult,
} from '../../../client/index.js';
import { UsageError } from '../../exit-codes.js';
import { isTty, printJson } from '../../output.js';

export interface LoginOptions {
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

export async function run(opts: LoginOptions): Promise<void> {
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
}

let spinnerModule: typeof import('../../views/spinner.js') | undefined;
function showSpinner(lines: string[]): { stop(): void } {
  // ink is loaded only for a person at a terminal.
  let handle: { stop(): void } | undefined;
  let stopped = false;
  void (spinnerModule ? Promise.resolve(spinnerModule) : import('../../views/spinner.js')).then((m) => {
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
