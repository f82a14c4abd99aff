import path from 'node:path';
import { Option, type Command } from 'commander';
import { agentdbHome } from '../../../client/index.js';
import type { DemoOptions } from './run.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('run everything on this machine: PostgreSQL with a sample customers database, an OpenID provider, the control plane and the gateway')
    .option('--data-dir <dir>', 'where the demo keeps its state', path.join(agentdbHome(), 'demo'))
    // Tests run a demo beside a developer's own on the fixed ports: api,gateway,idp,postgres (0 picks a free one).
    .addOption(new Option('--ports <list>', 'api,gateway,idp,postgres ports').hideHelp())
    .action(async (opts: DemoOptions) => (await import('./run.js')).run(opts));
}
