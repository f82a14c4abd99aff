// A secret file in the data directory (the masking hash key, the audit signing key): made once, readable by the
// server's user only, and the same for every server that shares the directory.
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface SecretFile {
  path: string;
  /** what the file is, for messages: "the audit signing key" */
  what: string;
  /** the content of a new file */
  create(): string | Uint8Array;
  /** the caller's error (with its module's stable code) for a file that cannot be read or created */
  fail(message: string, cause?: unknown): Error;
}

/** The file's content, creating it (mode 0600, in a 0700 directory) on first use. Checking the content is the caller's. */
export async function readOrCreateSecretFile(file: SecretFile): Promise<Buffer> {
  const existing = await readSecret(file);
  if (existing) return existing;
  // Written under a temporary name and linked into place: link() never replaces a file, so two servers starting
  // at once agree on one secret instead of each using its own.
  const temporary = `${file.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(file.path), { recursive: true, mode: 0o700 });
    await writeFile(temporary, file.create(), { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    await link(temporary, file.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } catch (err) {
    throw file.fail(`cannot create ${file.what} ${file.path}: ${(err as Error).message}`, err);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const created = await readSecret(file);
  if (!created) throw file.fail(`${file.what} ${file.path} vanished right after it was created`);
  return created;
}

async function readSecret(file: SecretFile): Promise<Buffer | undefined> {
  let data: Buffer;
  try {
    data = await readFile(file.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw file.fail(`cannot read ${file.what} ${file.path}: ${(err as Error).message}`, err);
  }
  // Whoever can read the secret can use it (test guesses against hashes, sign a cut log): tighten it rather than refuse to start.
  if (((await stat(file.path)).mode & 0o077) !== 0) await chmod(file.path, 0o600);
  return data;
}
