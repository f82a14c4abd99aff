// The data directory's secret files (the masking hash key, the audit signing key) through their one helper:
// made once with mode 0600 in a 0700 directory, the same for every caller that races to make it, tightened when
// others can read it, and a failure is the caller's own coded error.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { readOrCreateSecretFile, type SecretFile } from '../../src/store/index.js';
import { AuditError, loadOrCreateCheckpointKey } from '../../src/audit/index.js';
import { loadOrCreateHashKey, MaskingError } from '../../src/masking/index.js';
import { rejected } from '../helpers/expect-coded.js';

class TestError extends Error {}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'agentdb-secret-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function secret(file: string, made: string[] = []): SecretFile {
  return {
    path: file,
    what: 'the test secret',
    create: () => {
      const s = randomBytes(16).toString('hex');
      made.push(s);
      return s;
    },
    fail: (message, cause) => new TestError(message, { cause }),
  };
}

test('the first call makes the file (0600, in a new 0700 directory); later calls read the same content', async () => {
  const file = path.join(dir, 'data', 'key');
  const made: string[] = [];
  const first = await readOrCreateSecretFile(secret(file, made));
  expect(made).toHaveLength(1);
  expect(first.toString()).toBe(made[0]);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
  expect((await readOrCreateSecretFile(secret(file, made))).equals(first)).toBe(true);
  expect(made).toHaveLength(1);
});

test('callers that race to make it all get the one file that won, and leave no temporary files', async () => {
  const file = path.join(dir, 'key');
  const all = await Promise.all(Array.from({ length: 8 }, () => readOrCreateSecretFile(secret(file))));
  const onDisk = await readFile(file);
  for (const s of all) expect(s.equals(onDisk)).toBe(true);
  const { readdir } = await import('node:fs/promises');
  expect(await readdir(dir)).toEqual(['key']);
});

test('a file others can read is tightened to 0600 and kept', async () => {
  const file = path.join(dir, 'key');
  await writeFile(file, 'kept', { mode: 0o644 });
  await chmod(file, 0o644);
  expect((await readOrCreateSecretFile(secret(file))).toString()).toBe('kept');
  expect((await stat(file)).mode & 0o777).toBe(0o600);
});

test('a file that cannot be read or made is the caller\'s error, naming what and where', async () => {
  const notADir = path.join(dir, 'file');
  await writeFile(notADir, 'x');
  const err = await rejected(TestError, readOrCreateSecretFile(secret(path.join(notADir, 'key'))), undefined, /^cannot (read|create) the test secret .*file\/key: /);
  expect(err.cause).toBeInstanceOf(Error);
});

test('the masking hash key and the audit signing key keep their codes when their file is unusable', async () => {
  const notADir = path.join(dir, 'file');
  await writeFile(notADir, 'x');
  await rejected(MaskingError, loadOrCreateHashKey(notADir), 'AGENTDB_ERR_MASKING_KEY_FILE', /the masking hash key/);
  await rejected(AuditError, loadOrCreateCheckpointKey(notADir), 'AGENTDB_ERR_AUDIT_KEY_FILE', /the audit signing key/);
  // Made once, the same key comes back; a key of the wrong length is refused, not replaced.
  const key = await loadOrCreateHashKey(dir);
  expect((await loadOrCreateHashKey(dir)).equals(key)).toBe(true);
  await writeFile(path.join(dir, 'masking-hash.key'), 'short');
  await rejected(MaskingError, loadOrCreateHashKey(dir), 'AGENTDB_ERR_MASKING_KEY_FILE', /holds 5 bytes/);
  const signer = await loadOrCreateCheckpointKey(dir);
  expect((await loadOrCreateCheckpointKey(dir)).keyId).toBe(signer.keyId);
});
