import type { Command } from 'commander';
import { bashCompletion, fishCompletion, zshCompletion } from '../completion-scripts.js';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print shell completions: agentdb completion bash > /etc/bash_completion.d/agentdb')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => {
      const make = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion }[shell];
      if (!make) {
        program.error(`unknown shell "${shell}": use bash, zsh or fish`, { exitCode: 2, code: 'agentdb.usage' });
      }
      process.stdout.write(make(program));
    });
}
