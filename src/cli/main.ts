// The agentdb command line: one program, one folder per command. Each command's index.ts only declares its
// flags; its action imports the implementation when that command runs, so `--version`, `--help` and a quick
// `status` do not load the server, the CA or the OIDC client (CI scripts call the CLI many times).
import { Command, CommanderError } from 'commander';
import { ClientError, ExitCode } from '../client/index.js';
import { UsageError } from './errors.js';
import { VERSION } from './version.js';
import { register as server } from './commands/server/index.js';
import { register as demo } from './commands/demo/index.js';
import { register as login } from './commands/login/index.js';
import { register as logout } from './commands/logout/index.js';
import { register as status } from './commands/status/index.js';
import { register as proxy } from './commands/proxy/index.js';
import { register as exec } from './commands/exec/index.js';
import { register as play } from './commands/play/index.js';
import { register as audit } from './commands/audit/index.js';
import { register as request } from './commands/request/index.js';
import { register as lock } from './commands/lock/index.js';
import { register as mcp } from './commands/mcp/index.js';
import { register as completion } from './commands/completion/index.js';

export function buildProgram(): Command {
  const program = new Command('agentdb')
    .description('short-lived, task-scoped, identity-bound access to PostgreSQL for AI agents, CI jobs and people')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride();
  for (const register of [server, demo, login, logout, status, proxy, exec, mcp, play, audit, request, lock, completion]) register(program);
  return program;
}

/** Runs the CLI; resolves with the exit code. Errors become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.commands.forEach(function override(c: Command): void {
    c.exitOverride();
    c.commands.forEach(override);
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
      return ExitCode.USAGE;
    }
    process.stderr.write(`agentdb: ${(err as { message?: string }).message ?? String(err)}\n`);
    if (err instanceof UsageError) return ExitCode.USAGE;
    return err instanceof ClientError ? err.exitCode : ExitCode.FAILURE;
  }
}
