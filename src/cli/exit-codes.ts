// The CLI contract's exit codes are named below the CLI (client/exit-codes.ts: the client's errors carry them);
// UsageError is the CLI's own (errors.ts). Kept as one import for the commands.
export { ExitCode } from '../client/index.js';
export { UsageError } from './errors.js';
