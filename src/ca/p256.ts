import { createHash, generateKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { bitStringBytes, readChildren, readWhole, TAG } from './der.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The only key type this module makes or accepts: ECDSA on NIST P-256. */
export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

export function generateP256(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
}

// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0x04 (uncompressed) || X || Y } }
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200' + '04', 'hex');
const P256_SPKI_LENGTH = P256_SPKI_PREFIX.length + 64;

/** Whether `spki` is the usual named-curve, uncompressed encoding of a P-256 key (its point checked elsewhere). */
export function isCanonicalP256Spki(spki: Uint8Array): boolean {
  return spki.length === P256_SPKI_LENGTH && P256_SPKI_PREFIX.equals(spki.subarray(0, P256_SPKI_PREFIX.length));
}

export function spkiDer(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

export function privateKeyPem(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits, in hex. */
export function keyIdentifier(spki: Uint8Array): string {
  const [, subjectPublicKey] = readChildren(spki, readWhole(spki, TAG.sequence));
  if (!subjectPublicKey) throw new Error('SubjectPublicKeyInfo without a key');
  return createHash('sha1').update(bitStringBytes(spki, subjectPublicKey)).digest('hex');
}
