// `agentdb completion SHELL`: the script is generated from the program itself, so it lists every flag.
import type { Command } from 'commander';
import { bashCompletion, fishCompletion, zshCompletion } from '../../completion-scripts.js';

export function run(program: Command, shell: string): void {
  const make = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion }[shell];
  if (!make) {
    program.error(`unknown shell "${shell}": use bash, zsh or fish`, { exitCode: 2, code: 'agentdb.usage' });
  }
  process.stdout.write(make(program));
}
