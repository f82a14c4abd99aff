// The CLI is on its own start-up path, so it takes the error base from its file rather than through pgwire's face.
import { CodedError } from '../pgwire/coded-error.js';

/** Stable codes of the failures the CLI's commands raise themselves (the client's are in client/errors.ts). */
export const CliErrorCode = {
  /** A usage mistake the parser could not catch (a flag that needs another, say): exit 2. */
  USAGE: 'AGENTDB_ERR_USAGE',
  /** `request create --wait`: no decision within --timeout; the request stays open (exit 5). */
  REQUEST_TIMEOUT: 'AGENTDB_ERR_REQUEST_TIMEOUT',
  /** `request create --wait`: the request was denied or expired (exit 4). */
  REQUEST_DENIED: 'AGENTDB_ERR_REQUEST_DENIED',
  /** `audit verify`: the log or an export is broken, or cannot be checked. */
  AUDIT_BROKEN: 'AGENTDB_ERR_AUDIT_BROKEN',
  /** `audit public-key`: the control plane signs no checkpoints (the client's side of the audit module's NO_KEY). */
  AUDIT_NO_KEY: 'AGENTDB_ERR_AUDIT_NO_KEY',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** A usage mistake the parser could not catch (a flag that needs another, say): exit 2. */
export class UsageError extends CodedError<typeof CliErrorCode.USAGE> {
  constructor(message: string) {
    super(CliErrorCode.USAGE, message);
  }
}
