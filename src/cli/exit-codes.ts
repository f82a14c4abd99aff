// The CLI contract's exit codes; scripts and tests rely on them.
export const EXIT = { ok: 0, failure: 1, usage: 2, notLoggedIn: 3, denied: 4, approvalTimeout: 5 } as const;

/** A usage mistake the parser could not catch (a flag that needs another, say). */
export class UsageError extends Error {
  readonly code = 'AGENTDB_ERR_USAGE';
}
