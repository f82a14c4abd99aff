import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print shell completions: agentdb completion bash > /etc/bash_completion.d/agentdb')
    .argument('<shell>', 'bash, zsh or fish')
    .action(async (shell: string) => (await import('./run.js')).run(program, shell));
}
