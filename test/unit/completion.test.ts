import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { bashCompletion, fishCompletion, zshCompletion } from '../../src/cli/completion-scripts.js';

const dir = path.resolve(import.meta.dirname, '../../completions');

describe('shell completions', () => {
  test('completions/ holds what the program generates (regenerate with agentdb completion <shell>)', () => {
    const program = buildProgram();
    expect(readFileSync(path.join(dir, 'agentdb.bash'), 'utf8')).toBe(bashCompletion(program));
    expect(readFileSync(path.join(dir, 'agentdb.zsh'), 'utf8')).toBe(zshCompletion(program));
    expect(readFileSync(path.join(dir, 'agentdb.fish'), 'utf8')).toBe(fishCompletion(program));
  });

  test('bash completes subcommands and the flags of the command being typed, past flag values', () => {
    const complete = (...words: string[]) =>
      execFileSync('bash', ['-c', `source "${path.join(dir, 'agentdb.bash')}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _agentdb; echo "\${COMPREPLY[@]}"`]).toString().trim();
    expect(complete('agentdb', 'au')).toBe('audit');
    expect(complete('agentdb', 'audit', '')).toBe('search verify export public-key');
    expect(complete('agentdb', 'proxy', '--db', 'customers', '--t')).toBe('--task --ttl');
  });
});
