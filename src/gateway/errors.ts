import { SqlState } from '../pgwire/index.js';

/** A refusal or failure that reaches the PostgreSQL client as an ErrorResponse with `sqlState`. */
export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly sqlState: string = SqlState.INVALID_AUTHORIZATION,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
