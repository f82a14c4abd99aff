import { createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { bitStringBytes, bytesOf, contentOf, readChildren, readWhole, TAG } from './der.js';
import { CaError, CaErrorCode } from './errors.js';
import { isCanonicalP256Spki, isP256, spkiDer } from './p256.js';
import { pemDecode, pemEncode } from './pem.js';

// ecdsa-with-SHA256/384/512 (RFC 5758), by the content bytes of their OIDs.
const ECDSA_SIGNATURE_HASHES = new Map([
  ['2a8648ce3d040302', 'sha256'],
  ['2a8648ce3d040303', 'sha384'],
  ['2a8648ce3d040304', 'sha512'],
]);

interface CsrParts {
  info: Uint8Array;
  spki: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
}

// CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
// CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name, subjectPKInfo, [0] attributes }
function splitCsr(der: Uint8Array): CsrParts {
  const bad = (why: string) => new CaError(CaErrorCode.BAD_CSR, `the certificate signing request is malformed: ${why}`);
  const [info, algorithm, signature, ...extra] = readChildren(der, readWhole(der, TAG.sequence));
  if (!info || !algorithm || !signature || extra.length > 0) throw bad('it does not have three parts');
  if (info.tag !== TAG.sequence || algorithm.tag !== TAG.sequence) throw bad('unexpected structure');
  const [version, subject, spki] = readChildren(der, info);
  if (!version || version.tag !== TAG.integer || contentOf(der, version).join() !== '0') throw bad('unknown version');
  if (!subject || subject.tag !== TAG.sequence || !spki || spki.tag !== TAG.sequence) throw bad('no public key');
  const [algorithmOid] = readChildren(der, algorithm);
  if (!algorithmOid || algorithmOid.tag !== TAG.oid) throw bad('no signature algorithm');
  return {
    info: bytesOf(der, info),
    spki: bytesOf(der, spki),
    signatureAlgorithm: Buffer.from(contentOf(der, algorithmOid)).toString('hex'),
    signature: bitStringBytes(der, signature),
  };
}

/**
 * The public key of a PKCS#10 request (canonical SubjectPublicKeyInfo DER), once the request's
 * signature shows that the requester holds the matching private key. Nothing else in the request is
 * used: the CA decides subject and extensions itself, so a requester cannot ask for more than granted.
 */
export async function publicKeyFromCsr(csrPem: string): Promise<Uint8Array> {
  const der = pemDecode(csrPem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], 'certificate signing request', CaErrorCode.BAD_CSR);
  let parts: CsrParts;
  try {
    parts = splitCsr(der);
  } catch (cause) {
    if (cause instanceof CaError && cause.code === CaErrorCode.BAD_CSR) throw cause;
    throw new CaError(CaErrorCode.BAD_CSR, 'the certificate signing request is not valid DER', { cause });
  }
  let key: KeyObject;
  try {
    // As PEM text, not { key, format: 'der' }: node:crypto tells a plain options object from a KeyObject by letting
    // a native check throw a TypeError, whose stack trace is most of what importing the key costs on the event loop.
    key = createPublicKey(pemEncode(parts.spki, 'PUBLIC KEY'));
  } catch (cause) {
    throw new CaError(CaErrorCode.BAD_KEY, 'the certificate signing request holds an unreadable public key', { cause });
  }
  // The usual encoding names id-ecPublicKey and prime256v1 in its fixed prefix, and importing it checked the point
  // is on that curve; asking the key for its curve costs as much again as the import (~35 µs), so only other
  // encodings are asked.
  const canonical = isCanonicalP256Spki(parts.spki);
  if (canonical ? key.asymmetricKeyType !== 'ec' : !isP256(key)) {
    const kind = [key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve].filter(Boolean).join(' ');
    throw new CaError(CaErrorCode.BAD_KEY, `the certificate signing request holds a ${kind} key; only ECDSA P-256 keys are accepted`);
  }
  const hash = ECDSA_SIGNATURE_HASHES.get(parts.signatureAlgorithm);
  if (!hash) throw new CaError(CaErrorCode.BAD_CSR, 'the certificate signing request is not signed with ECDSA and SHA-2');
  // On the thread pool: the event loop spends ~7 µs handing it over instead of ~100 checking (its thread's CPU on
  // the 2-core VM); the API's and the gateway's other work goes on meanwhile, and a second core does the check.
  const signed = await new Promise<boolean>((resolve) => {
    try {
      // The KeyObject itself (signatures are DER by default): an options object costs a thrown TypeError (above).
      verify(hash, parts.info, key, parts.signature, (err, ok) => resolve(err === null && ok));
    } catch {
      // a signature that is not even DER is no better than a wrong one
      resolve(false);
    }
  });
  if (!signed) throw new CaError(CaErrorCode.BAD_CSR, 'the signature of the certificate signing request does not match its public key');
  // The certificate holds one canonical encoding of the key: the usual one is copied as it is,
  // anything else (a compressed point, say) is re-encoded.
  return canonical ? parts.spki : spkiDer(key);
}
