// The flags the gateway clients share (`proxy`, `exec`, `mcp`): which database, as whom, for which task, for how
// long; `proxy` and `exec` also take where to listen. Light: only the implementations load the client's proxy.
import type { Command } from 'commander';

export interface DbFlags {
  db: string;
  dbUser?: string;
  dbName?: string;
  task?: string;
  ttl?: string;
  port?: string;
  socket?: string;
}

/** Which database, as whom, for which task, for how long. */
export function addTaskFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--db <name>', 'database service to reach')
    .option('--db-user <user>', 'database user (when your roles allow several)')
    .option('--db-name <name>', 'database name inside the service')
    .option('--task <text>', 'what this access is for; recorded in the certificate and every audit event')
    .option('--ttl <duration>', 'how long the certificate lives (capped by your roles)', '30m');
}

/** The task flags and the local listener's. */
export function addDbFlags(cmd: Command): Command {
  return addTaskFlags(cmd)
    .option('--port <port>', 'local port to listen on (default: a free one)')
    .option('--socket <dir>', 'also listen on a unix socket in this directory');
}
