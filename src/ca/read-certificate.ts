import { readWhole, TAG } from './der.js';
import { CaError, CaErrorCode } from './errors.js';
import { pemDecode } from './pem.js';
import { x509 } from './x509.js';

/** Reads a certificate from DER bytes or a PEM "CERTIFICATE"; anything unreadable is a CaError. */
export function readCertificate(input: Uint8Array | string): x509.X509Certificate {
  let der: Uint8Array;
  if (typeof input === 'string') {
    der = pemDecode(input, ['CERTIFICATE'], 'certificate', CaErrorCode.BAD_CERT);
  } else if (input instanceof Uint8Array) {
    der = input;
  } else {
    throw new CaError(CaErrorCode.BAD_CERT, 'a certificate must be given as DER bytes or PEM text');
  }
  try {
    readWhole(der, TAG.sequence); // strict DER with nothing after it; the parser below is more lenient
    return new x509.X509Certificate(der);
  } catch (cause) {
    throw new CaError(CaErrorCode.BAD_CERT, 'the certificate could not be parsed', { cause });
  }
}
