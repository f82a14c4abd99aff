import { CodedError } from '../pgwire/index.js';

/** Stable codes of every PolicyError. */
export const PolicyErrorCode = {
  /** None of the identity's roles grants the database service a certificate was asked for. */
  NO_DATABASE: 'AGENTDB_ERR_POLICY_NO_DATABASE',
  /** The database user asked for is not one the identity's roles allow on that service. */
  DB_USER: 'AGENTDB_ERR_POLICY_DB_USER',
  /** The database name asked for is not one the identity's roles allow on that service. */
  DB_NAME: 'AGENTDB_ERR_POLICY_DB_NAME',
  /** A role sets a session setting from `{{...}}` that is not a `{{traits.NAME}}` template. */
  TEMPLATE: 'AGENTDB_ERR_POLICY_TEMPLATE',
  /** A role sets a session setting from a trait the identity does not have: the session is refused. */
  TRAIT_MISSING: 'AGENTDB_ERR_POLICY_TRAIT_MISSING',
  /** A trait a role sets a session setting from holds a value no setting can hold (a NUL). */
  TRAIT_INVALID: 'AGENTDB_ERR_POLICY_TRAIT_INVALID',
  /** analyze() was called before loadParser() finished. */
  PARSER_NOT_LOADED: 'AGENTDB_ERR_POLICY_PARSER_NOT_LOADED',
} as const;
export type PolicyErrorCode = (typeof PolicyErrorCode)[keyof typeof PolicyErrorCode];

/** The one error type of the policy module; `code` is stable, the message is for people. */
export class PolicyError extends CodedError<PolicyErrorCode> {
  // The catalogue above is all it adds: the base holds the code and the message.
}
