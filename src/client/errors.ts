/** A failure on the client side, with the exit code the CLI contract gives it. */
export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** 1 failure, 3 not logged in or expired, 4 denied by policy, 5 approval timed out */
    readonly exitCode: 1 | 3 | 4 | 5 = 1,
  ) {
    super(message);
  }
}
