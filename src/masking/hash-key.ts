// The key of the hash strategy lives in the data directory: stable across restarts (a hashed value means the
// same thing tomorrow, so joins over exported results keep working) and readable by the server's user only.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readOrCreateSecretFile } from '../store/index.js';
import { MaskingError, MaskingErrorCode } from './errors.js';
import { HASH_KEY_BYTES } from './policy.js';

export const HASH_KEY_FILE = 'masking-hash.key';

/** Reads `<dataDir>/masking-hash.key`, creating it (32 random bytes, mode 0600) on first use. */
export async function loadOrCreateHashKey(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, HASH_KEY_FILE);
  const key = await readOrCreateSecretFile({
    path,
    what: 'the masking hash key',
    create: () => randomBytes(HASH_KEY_BYTES),
    fail: (message, cause) => new MaskingError(MaskingErrorCode.KEY_FILE, message, { cause }),
  });
  if (key.length !== HASH_KEY_BYTES) {
    throw new MaskingError(
      MaskingErrorCode.KEY_FILE,
      `the masking hash key ${path} holds ${key.length} bytes, not ${HASH_KEY_BYTES}: restore it from a backup, or delete it to start a new key (hashed values will change)`,
    );
  }
  return key;
}
