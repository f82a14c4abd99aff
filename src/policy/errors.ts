/** The one error type of the policy module; `code` is stable, the message is for people. */
export class PolicyError extends Error {
  constructor(
    readonly code: `AGENTDB_ERR_POLICY_${string}`,
    message: string,
  ) {
    super(message);
    this.name = 'PolicyError';
  }
}
