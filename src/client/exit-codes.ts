// The CLI contract's exit codes (DESIGN.md); scripts and tests rely on them. They live below the CLI because the
// client's errors carry them and the proxy tells a PostgreSQL client the same outcome as a SQLSTATE.
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  /** not logged in, or the login expired */
  NOT_LOGGED_IN: 3,
  /** denied by policy (the control plane answered 403) */
  DENIED: 4,
  /** waiting for an approval timed out */
  APPROVAL_TIMEOUT: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
