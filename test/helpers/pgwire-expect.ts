// Shared by the pgwire tests: run `fn`, expect a PgwireError with this code (default: a malformed message) and message.
import { PgwireError, PgwireErrorCode } from '../../src/pgwire/index.js';
import { thrown } from './expect-coded.js';

export const expectPgwireError = (fn: () => unknown, code: string = PgwireErrorCode.MALFORMED_MESSAGE, message?: RegExp): PgwireError =>
  thrown(PgwireError, fn, code, message);
