// A test oracle: checks a task certificate against a CA the way a verifier outside TLS would (the gateway
// itself leaves the chain to node:tls). It lives with the tests because only they use it.
import { CaError, CaErrorCode } from '../../src/ca/errors.js';
import type { TaskCertificate } from '../../src/ca/task-cert.js';
import { readCertificate } from '../../src/ca/read-certificate.js';
import { x509 } from '../../src/ca/x509.js';
import type { CryptoKey } from '../../src/ca/x509.js';

export type TaskCertVerdict = 'ok' | 'expired' | 'not-yet-valid' | 'unknown-ca' | 'bad-signature';

interface TrustedCa {
  subject: Buffer;
  keyId: string | undefined;
  publicKey: CryptoKey;
}

async function readTrustedCa(caPem: string): Promise<TrustedCa> {
  const cert = readCertificate(caPem);
  try {
    return {
      subject: Buffer.from(cert.subjectName.toArrayBuffer()),
      keyId: cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
      publicKey: await cert.publicKey.export(),
    };
  } catch (cause) {
    throw new CaError(CaErrorCode.BAD_CERT, "the CA certificate's public key could not be read", { cause });
  }
}

// Callers ask about the same CA again and again: import its key once.
let cached: { caPem: string; ca: Promise<TrustedCa> } | undefined;

function trustedCa(caPem: string): Promise<TrustedCa> {
  if (cached?.caPem !== caPem) {
    const entry = { caPem, ca: readTrustedCa(caPem) };
    entry.ca.catch(() => {
      if (cached === entry) cached = undefined;
    });
    cached = entry;
  }
  return cached.ca;
}

async function signedBy(leaf: x509.X509Certificate, ca: TrustedCa): Promise<TaskCertVerdict | undefined> {
  if (!Buffer.from(leaf.issuerName.toArrayBuffer()).equals(ca.subject)) return 'unknown-ca';
  // Two CAs may share a name (two clusters named alike); the key identifier tells them apart.
  const authorityKeyId = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  if (authorityKeyId !== undefined && ca.keyId !== undefined && authorityKeyId !== ca.keyId) return 'unknown-ca';
  return (await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true })) ? undefined : 'bad-signature';
}

/**
 * Whether `cert.der` was signed by the CA in `caPem` and is valid at `now` (the other fields of
 * `cert` are what parseTaskCert read from those bytes). A refusal is a verdict, not an exception, so
 * the caller can tell the user why; only an unreadable CA or certificate throws (CaError).
 */
export async function verifyTaskCert(cert: TaskCertificate, caPem: string, now: Date = new Date()): Promise<TaskCertVerdict> {
  const ca = await trustedCa(caPem);
  const leaf = readCertificate(cert.der);
  let refusal: TaskCertVerdict | undefined;
  try {
    refusal = await signedBy(leaf, ca);
  } catch {
    // an extension or signature too broken to read proves nothing
    refusal = 'bad-signature';
  }
  if (refusal) return refusal;
  if (now.getTime() < leaf.notBefore.getTime()) return 'not-yet-valid';
  if (now.getTime() > leaf.notAfter.getTime()) return 'expired';
  return 'ok';
}
