// The key of the hash strategy lives in the data directory: stable across restarts (a hashed value means the
// same thing tomorrow, so joins over exported results keep working) and readable by the server's user only.
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MaskingError } from './errors.js';
import { HASH_KEY_BYTES } from './policy.js';

export const HASH_KEY_FILE = 'masking-hash.key';

/** Reads `<dataDir>/masking-hash.key`, creating it (32 random bytes, mode 0600) on first use. */
export async function loadOrCreateHashKey(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, HASH_KEY_FILE);
  const existing = await readKey(path);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Written under a temporary name and linked into place: link() never replaces a file, so two servers
  // starting at once agree on one key instead of each hashing with its own.
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, randomBytes(HASH_KEY_BYTES), { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    await link(temporary, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } catch (err) {
    throw new MaskingError('AGENTDB_ERR_MASKING_KEY_FILE', `cannot create the masking hash key ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const key = await readKey(path);
  if (!key) throw new MaskingError('AGENTDB_ERR_MASKING_KEY_FILE', `the masking hash key ${path} vanished right after it was created`);
  return key;
}

async function readKey(path: string): Promise<Buffer | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MaskingError('AGENTDB_ERR_MASKING_KEY_FILE', `cannot read the masking hash key ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (data.length !== HASH_KEY_BYTES) {
    throw new MaskingError(
      'AGENTDB_ERR_MASKING_KEY_FILE',
      `the masking hash key ${path} holds ${data.length} bytes, not ${HASH_KEY_BYTES}: restore it from a backup, or delete it to start a new key (hashed values will change)`,
    );
  }
  // A key others can read lets them test guesses against hashed values: tighten it rather than refuse to start.
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) await chmod(path, 0o600);
  return data;
}
