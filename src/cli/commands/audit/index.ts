import type { Command } from 'commander';
import { register as registerSearch } from './search.js';
import { register as registerVerify } from './verify.js';

export function register(program: Command): void {
  const audit = program.command('audit').description('search and verify the audit log');
  registerSearch(audit);
  registerVerify(audit);
}
