// Shared by the pgwire tests: run `fn`, expect a PgwireError with this code (default: a malformed message) and message.
import { expect } from 'vitest';
import { PgwireError, PgwireErrorCode } from '../../src/pgwire/index.js';

export function expectPgwireError(fn: () => unknown, code: string = PgwireErrorCode.MALFORMED_MESSAGE, message?: RegExp): PgwireError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PgwireError);
    expect((err as PgwireError).code).toBe(code);
    if (message) expect((err as PgwireError).message).toMatch(message);
    return err as PgwireError;
  }
  throw new Error('expected a PgwireError');
}
