import { MAX_CANCEL_KEY_LENGTH, MIN_CANCEL_KEY_LENGTH } from './constants.js';
import { PgwireError, PgwireErrorCode } from './errors.js';

// BackendKeyData and CancelRequest carry the same (pid, secret) pair; both builders check it here.

export function checkPid(pid: number): void {
  if (!Number.isInteger(pid) || pid < -0x80000000 || pid > 0x7fffffff) {
    throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, `process id must be a 32-bit integer, got ${pid}`);
  }
}

export function checkCancelKey(secret: Buffer): void {
  if (secret.length < MIN_CANCEL_KEY_LENGTH || secret.length > MAX_CANCEL_KEY_LENGTH) {
    throw new PgwireError(
      PgwireErrorCode.BAD_ARGUMENT,
      `cancel secret key must be ${MIN_CANCEL_KEY_LENGTH} to ${MAX_CANCEL_KEY_LENGTH} bytes, got ${secret.length}`,
    );
  }
}
