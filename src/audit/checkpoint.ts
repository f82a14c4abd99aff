// Signed checkpoints of the chain head. The hash chain shows an edited, inserted or reordered event, but a
// chain whose last events were cut is still a valid chain: only a signature over a head that the log once
// had tells that events after some point are missing. Ed25519, key in the data directory (0600).
import { createPrivateKey, createPublicKey, generateKeyPairSync, hash, sign, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { canonicalJson } from './canonical-json.js';
import { readOrCreateSecretFile } from '../store/index.js';
import { AuditError, AuditErrorCode } from './errors.js';

export const CHECKPOINT_KEY_FILE = 'audit-signing.key';

/** What a checkpoint signs. `kind: 'log'` covers the store's chain from its start up to headHash;
 *  `kind: 'export'` covers one export: the events after fromHash up to headHash, `count` of them. */
export interface CheckpointBody {
  kind: 'log' | 'export';
  /** hash of the last covered event */
  headHash: string;
  /** its time, so the head is found again through the store's time index (log checkpoints) */
  headTime?: string;
  /** export only: the prevHash of the first exported event, and how many events the export holds */
  fromHash?: string;
  count?: number;
  /** ISO 8601, when it was signed */
  time: string;
  /** fingerprint of the signing key (checkpointKeyId) */
  keyId: string;
}

export interface Checkpoint extends CheckpointBody {
  /** Ed25519 over the canonical JSON of the body, base64 */
  signature: string;
}

export interface CheckpointSigner {
  readonly keyId: string;
  /** SPKI PEM */
  readonly publicKeyPem: string;
  sign(body: Omit<CheckpointBody, 'keyId' | 'time'> & { time?: string }): Checkpoint;
}

function bodyOf(c: Checkpoint | CheckpointBody): string {
  const { kind, headHash, headTime, fromHash, count, time, keyId } = c;
  return canonicalJson({ kind, headHash, headTime, fromHash, count, time, keyId });
}

/** `SHA256:` and the hex sha256 of the public key's DER (SPKI), as `agentdb audit verify` prints it. */
export function checkpointKeyId(publicKey: KeyObject): string {
  return `SHA256:${hash('sha256', publicKey.export({ type: 'spki', format: 'der' }), 'hex')}`;
}

export function signerFromKey(privateKey: KeyObject): CheckpointSigner {
  const publicKey = createPublicKey(privateKey);
  const keyId = checkpointKeyId(publicKey);
  return {
    keyId,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign(b) {
      const body: CheckpointBody = { ...b, time: b.time ?? new Date().toISOString(), keyId };
      if (body.fromHash === undefined) delete body.fromHash;
      if (body.headTime === undefined) delete body.headTime;
      if (body.count === undefined) delete body.count;
      return { ...body, signature: sign(null, Buffer.from(bodyOf(body)), privateKey).toString('base64') };
    },
  };
}

/** Why this checkpoint is not one signed by `publicKeyPem`, or undefined when it is. */
export function checkpointFault(c: unknown, publicKeyPem: string): string | undefined {
  if (typeof c !== 'object' || c === null) return 'it is not an object';
  const cp = c as Partial<Checkpoint>;
  if (typeof cp.signature !== 'string' || typeof cp.headHash !== 'string' || typeof cp.keyId !== 'string') return 'it lacks its signature, head or key id';
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch {
    return 'the public key is not a valid PEM key';
  }
  if (checkpointKeyId(key) !== cp.keyId) return `it was signed by key ${cp.keyId}, not ${checkpointKeyId(key)}`;
  let ok = false;
  try {
    ok = verify(null, Buffer.from(bodyOf(cp as Checkpoint)), key, Buffer.from(cp.signature, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? undefined : 'its signature does not match its content';
}

/** Loads the data directory's signing key, creating it on first start. */
export async function loadOrCreateCheckpointKey(dataDir: string): Promise<CheckpointSigner> {
  const path = join(dataDir, CHECKPOINT_KEY_FILE);
  const pem = await readOrCreateSecretFile({
    path,
    what: 'the audit signing key',
    create: () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
    fail: (message, cause) => new AuditError(AuditErrorCode.KEY_FILE, message, { cause }),
  });
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new AuditError(AuditErrorCode.KEY_FILE, `the audit signing key ${path} is not a PEM private key: restore it from a backup`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AuditError(AuditErrorCode.KEY_FILE, `the audit signing key ${path} is a ${key.asymmetricKeyType} key, not Ed25519`);
  }
  return signerFromKey(key);
}
