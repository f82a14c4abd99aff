import { CaError, CaErrorCode } from './errors.js';
import { identityFromSubject } from './subject-name.js';
import { payloadOf } from './payload.js';
import { pemEncode } from './pem.js';
import { readCertificate } from './read-certificate.js';
import type { TaskCertPayload } from './payload.js';
import { x509 } from './x509.js';

export interface TaskCertificate {
  /** The subject's CN: the identity name, exactly as issued (not a DN string). */
  subject: string;
  /** Lower-case hex of the serial number's bytes (no sign byte), e.g. for revocation lists. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  payload: TaskCertPayload;
  der: Buffer;
  pem: string;
}

function taskCertificate(cert: x509.X509Certificate, subject: string, payload: TaskCertPayload): TaskCertificate {
  const der = Buffer.from(cert.rawData);
  return {
    subject,
    serial: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    payload,
    der,
    pem: pemEncode(der, 'CERTIFICATE'),
  };
}

/**
 * Reads a task certificate and the payload it carries. It checks shape only, not trust: whoever
 * calls this must already have checked the chain (node:tls at the gateway, verifyTaskCert elsewhere).
 */
export function parseTaskCert(input: Buffer | string): TaskCertificate {
  const cert = readCertificate(input);
  try {
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    if (!eku?.usages.includes(x509.ExtendedKeyUsage.clientAuth)) {
      throw new CaError(CaErrorCode.NOT_CLIENT_CERT, 'the certificate is not a client certificate (extended key usage clientAuth is missing)');
    }
    const subject = identityFromSubject(cert.subjectName);
    if (subject === undefined) {
      throw new CaError(CaErrorCode.BAD_CERT, 'the certificate subject must hold exactly one common name (the identity)');
    }
    return taskCertificate(cert, subject, payloadOf(new Uint8Array(cert.rawData)));
  } catch (error) {
    if (error instanceof CaError) throw error;
    // The parser reads extensions lazily, so a malformed one surfaces only here.
    throw new CaError(CaErrorCode.BAD_CERT, 'the certificate could not be parsed', { cause: error });
  }
}
