// `agentdb demo`: everything on this machine, and the CLI's profile pointed at it.
import { readFile } from 'node:fs/promises';
import chalk from 'chalk';
import { readProfile, writeProfile } from '../../../client/index.js';
import { startDevCluster } from '../../../server/index.js';
import { VERSION } from '../../version.js';
import { waitForShutdown } from '../../lifecycle.js';
import { UsageError } from '../../exit-codes.js';

// Fixed ports, so the commands the demo prints stay the same from one run to the next.
const DEMO_PORTS = { api: 7443, gateway: 7432, idp: 7444, postgres: 7433 };

export interface DemoOptions {
  dataDir: string;
  ports?: string;
}

function demoPorts(list: string | undefined): typeof DEMO_PORTS {
  if (list === undefined) return DEMO_PORTS;
  const n = list.split(',').map(Number);
  if (n.length !== 4 || n.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) throw new UsageError('--ports takes four ports: api,gateway,idp,postgres');
  return { api: n[0]!, gateway: n[1]!, idp: n[2]!, postgres: n[3]! };
}

export async function run(opts: DemoOptions): Promise<void> {
  process.stdout.write('Starting PostgreSQL, the OpenID provider, the control plane and the gateway...\n');
  const cluster = await startDevCluster({ dataDir: opts.dataDir, version: VERSION, ports: demoPorts(opts.ports), provisionAgent: true });
  const { info } = cluster;
  // Point the CLI at the demo, as `tsh login --proxy` would: later commands need no flags.
  const current = await readProfile().catch(() => undefined);
  const caPem = await readFile(info.caFile, 'utf8');
  if (!current || current.server === info.server) await writeProfile({ ...(current ?? {}), server: info.server, caPem });
  const user = info.users[0]!;
  const agent = info.clients[0]!;
  const b = chalk.bold;
  process.stdout.write(
    [
      '',
      b('agentdb demo is running.'),
      `  control plane  ${info.server}`,
      `  gateway        ${info.gateway.host}:${info.gateway.port}`,
      `  OpenID provider ${info.issuer}`,
      `  state          ${opts.dataDir}  (dev.json has the demo credentials)`,
      '',
      // Never `npx agentdb`: that npm name is someone else's package (see README).
      b('In another terminal, in this checkout:'),
      `  0. ${b("alias agentdb='npm run -s agentdb --'")}   this checkout's CLI`,
      `  1. ${b('agentdb login')}          sign in as ${b(user.name)} with password ${b(user.password)}`,
      `  2. ${b('agentdb proxy --db customers --task "check refunds"')}   then paste the psql line it prints`,
      `  3. ${b('agentdb audit search --since 10m')}`,
      `  4. ${b('agentdb play <sid>')}     with a session id from the audit search`,
      `  5. ${b(`${info.server}/ui`)}   the reviewers' web console (sign in as ${b(user.name)}; trust ${info.caFile} or proceed once)`,
      '',
      `As the demo AI agent instead: ${b(`DEMO_AGENT_SECRET=${agent.secret} agentdb login --client-id ${agent.id} --client-secret-env DEMO_AGENT_SECRET`)}`,
      '',
      'Ctrl-C (or closing this terminal) stops everything the demo started.',
      '',
    ].join('\n'),
  );
  await waitForShutdown(async () => {
    process.stdout.write('Stopping...\n');
    await cluster.close();
  });
}
