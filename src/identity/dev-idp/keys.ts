// The development IdP's signing key. Kept in a file (0600) when asked, so a restarted demo signs
// with the same key and tokens issued before the restart still verify.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { IdentityError, IdentityErrorCode } from '../errors.js';

/** RS256 because OpenID Connect requires every provider to support it for ID tokens. */
export const SIGNING_ALG = 'RS256';

export async function loadOrCreateSigningKey(keyFile?: string): Promise<JWK> {
  if (keyFile === undefined) return generateSigningKey();
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new IdentityError(IdentityErrorCode.KEY_FILE, `cannot read the dev IdP key file ${keyFile}: ${(err as Error).message}`, { cause: err });
    }
    const key = await generateSigningKey();
    await saveKey(keyFile, key);
    return key;
  }
  return parseKeyFile(keyFile, text);
}

async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: SIGNING_ALG, use: 'sig' };
}

async function saveKey(keyFile: string, key: JWK): Promise<void> {
  try {
    await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
    // 'wx': never overwrite a key another process wrote in the meantime.
    await writeFile(keyFile, `${JSON.stringify({ keys: [key] }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new IdentityError(IdentityErrorCode.KEY_FILE, `cannot write the dev IdP key file ${keyFile}: ${(err as Error).message}`, { cause: err });
  }
}

async function parseKeyFile(keyFile: string, text: string): Promise<JWK> {
  const bad = (why: string, cause?: unknown): IdentityError =>
    new IdentityError(IdentityErrorCode.KEY_FILE, `the dev IdP key file ${keyFile} is not usable: ${why}; delete it to have a new key made`, { cause });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw bad('it is not JSON', err);
  }
  const key = (parsed as { keys?: unknown } | null)?.keys;
  const first: unknown = Array.isArray(key) ? key[0] : undefined;
  if (typeof first !== 'object' || first === null) throw bad('it holds no {"keys": [...]} key set');
  const jwk = first as JWK;
  if (jwk.kty !== 'RSA' || typeof jwk.d !== 'string') throw bad('its first key is not an RSA private key');
  try {
    await importJWK(jwk, SIGNING_ALG);
  } catch (err) {
    throw bad(`its key does not load (${(err as Error).message})`, err);
  }
  return { ...jwk, kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)), alg: SIGNING_ALG, use: 'sig' };
}
