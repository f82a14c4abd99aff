import { randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CaError, CaErrorCode } from './errors.js';
import { bitString, bytesOf, contentOf, contextTag, objectIdentifier, readChildren, readWhole, sequence, TAG, time, tlv, unsignedInteger } from './der.js';
import type { Tlv } from './der.js';

const ECDSA_WITH_SHA256 = sequence(objectIdentifier('1.2.840.10045.4.3.2')); // parameters absent (RFC 5758)
const VERSION_3 = tlv(contextTag(0), new Uint8Array([0x02, 0x01, 0x02]));

export interface CertificateFields {
  /** DER Name of the signer (the CA's own subject, byte for byte). */
  issuer: Uint8Array;
  /** DER Name. */
  subject: Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Each a DER Extension. */
  extensions: Uint8Array[];
}

export interface SignedCertificate {
  der: Uint8Array;
  /** Lower-case hex of the serial's minimal bytes, as @peculiar/x509 (and, upper-cased, node:crypto) print it. */
  serial: string;
  /** The validity as encoded: whole seconds. */
  notBefore: Date;
  notAfter: Date;
}

function serialHex(magnitude: Buffer): string {
  let first = 0;
  while (first < magnitude.length - 1 && magnitude[first] === 0) first++;
  return magnitude.subarray(first).toString('hex');
}

const wholeSeconds = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

// The key goes to sign() as the KeyObject itself, never as { key, dsaEncoding }: node:crypto tells an options object
// from a KeyObject by letting a native check throw a TypeError, and capturing its stack cost the event loop ~20 µs
// per certificate. ECDSA signatures are DER by default.

/**
 * An X.509 v3 certificate signed with ECDSA P-256 / SHA-256 by `signingKey`. Its serial is 128 random
 * bits (positive: the encoder adds a sign byte when the top bit is set), so serials never repeat and
 * cannot be guessed.
 */
export function signCertificate(fields: CertificateFields, signingKey: KeyObject): SignedCertificate {
  const unsigned = toBeSigned(fields);
  return signed(unsigned, sign('sha256', unsigned.tbs, signingKey));
}

/**
 * signCertificate with the signature made on the thread pool: the CA's per-request path. The event loop spends
 * ~4 µs handing the job over instead of ~40 µs signing (its thread's CPU, measured on the 2-core VM), and the
 * API and the gateway's sessions go on meanwhile.
 */
export function signCertificateOffThread(fields: CertificateFields, signingKey: KeyObject): Promise<SignedCertificate> {
  const unsigned = toBeSigned(fields);
  return new Promise((resolve, reject) => {
    sign('sha256', unsigned.tbs, signingKey, (err, signature) => (err ? reject(err) : resolve(signed(unsigned, signature))));
  });
}

interface Unsigned {
  tbs: Uint8Array;
  serialBytes: Buffer;
  notBefore: Date;
  notAfter: Date;
}

function toBeSigned(fields: CertificateFields): Unsigned {
  const serialBytes = randomBytes(16);
  const notBefore = wholeSeconds(fields.notBefore);
  const notAfter = wholeSeconds(fields.notAfter);
  const tbs = sequence(
    VERSION_3,
    unsignedInteger(serialBytes),
    ECDSA_WITH_SHA256,
    fields.issuer,
    sequence(time(notBefore), time(notAfter)),
    fields.subject,
    fields.spki,
    tlv(contextTag(3), sequence(...fields.extensions)),
  );
  return { tbs, serialBytes, notBefore, notAfter };
}

function signed(u: Unsigned, signature: Uint8Array): SignedCertificate {
  return {
    der: sequence(u.tbs, ECDSA_WITH_SHA256, bitString(signature)),
    serial: serialHex(u.serialBytes),
    notBefore: u.notBefore,
    notAfter: u.notAfter,
  };
}

function tbsFields(certificate: Uint8Array): Tlv[] {
  const [tbs] = readChildren(certificate, readWhole(certificate, TAG.sequence));
  if (!tbs || tbs.tag !== TAG.sequence) throw new CaError(CaErrorCode.BAD_DER, 'malformed DER: certificate without tbsCertificate');
  return readChildren(certificate, tbs);
}

/** The subject Name and SubjectPublicKeyInfo of a certificate, as the exact bytes it holds. */
export function subjectAndKeyOf(certificate: Uint8Array): { subject: Uint8Array; spki: Uint8Array } {
  const fields = tbsFields(certificate);
  // version is [0] EXPLICIT and optional; then serial, signature, issuer, validity, subject, subjectPublicKeyInfo
  const first = fields[0]?.tag === contextTag(0) ? 1 : 0;
  const subject = fields[first + 4];
  const spki = fields[first + 5];
  if (!subject || !spki) throw new CaError(CaErrorCode.BAD_DER, 'malformed DER: certificate without subject or key');
  return { subject: bytesOf(certificate, subject), spki: bytesOf(certificate, spki) };
}

/**
 * The value (the OCTET STRING's content) of the extension with OID `oid` (as DER), or undefined.
 * Read from the certificate's own bytes: @peculiar/x509 re-encodes extensions when asked for their
 * bytes, and cannot re-encode our 2.25.<uuid> OID (asn1js keeps arcs wider than 56 bits as hex).
 */
export function extensionValueOf(certificate: Uint8Array, oid: Uint8Array): Uint8Array | undefined {
  const wrapper = tbsFields(certificate).find((field) => field.tag === contextTag(3));
  if (!wrapper) return undefined;
  const [list] = readChildren(certificate, wrapper);
  if (!list || list.tag !== TAG.sequence) throw new CaError(CaErrorCode.BAD_DER, 'malformed DER: bad extensions list');
  let found: Uint8Array | undefined;
  for (const extension of readChildren(certificate, list)) {
    const parts = readChildren(certificate, extension);
    const [id] = parts;
    const value = parts[parts.length - 1];
    if (!id || !value || id.tag !== TAG.oid || value.tag !== TAG.octetString) {
      throw new CaError(CaErrorCode.BAD_DER, 'malformed DER: bad extension');
    }
    if (!Buffer.from(bytesOf(certificate, id)).equals(oid)) continue;
    // RFC 5280 4.2: an extension appears at most once; two would leave the reader guessing which counts.
    if (found) throw new CaError(CaErrorCode.BAD_DER, 'malformed DER: an extension appears twice');
    found = contentOf(certificate, value);
  }
  return found;
}
