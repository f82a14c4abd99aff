import { CaError, CaErrorCode } from './errors.js';
import { objectIdentifier, sequence, tlv, TAG, utf8String } from './der.js';
import { x509 } from './x509.js';

const OID_COMMON_NAME = '2.5.4.3';
const OID_COMMON_NAME_DER = objectIdentifier(OID_COMMON_NAME);
// Generous for e-mail-like names (RFC 5280's 64 is an upper bound few stacks enforce), small enough
// that a runaway value cannot bloat every handshake.
const MAX_IDENTITY_LENGTH = 255;
// Control characters in a name end up in logs and terminals; no IdP issues such names.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export function checkIdentity(identity: string): void {
  if (typeof identity !== 'string' || identity.length === 0) {
    throw new CaError(CaErrorCode.BAD_IDENTITY, 'the identity name for the certificate is empty');
  }
  if (identity.length > MAX_IDENTITY_LENGTH) {
    throw new CaError(CaErrorCode.BAD_IDENTITY, `the identity name is ${identity.length} characters long; at most ${MAX_IDENTITY_LENGTH} are allowed`);
  }
  if (CONTROL_CHARACTERS.test(identity)) {
    throw new CaError(CaErrorCode.BAD_IDENTITY, 'the identity name contains control characters');
  }
}

/**
 * A subject of exactly one CN, always a UTF8String, in DER. Built from parts, never parsed from a
 * "CN=..." string, so commas, plus signs, quotes or a leading '#' (which a DN parser reads as hex)
 * in a name stay literal characters.
 */
export function commonNameDer(commonName: string): Uint8Array {
  return sequence(tlv(TAG.set, sequence(OID_COMMON_NAME_DER, utf8String(commonName))));
}

export function commonNameSubject(commonName: string): x509.Name {
  return new x509.Name(commonNameDer(commonName));
}

/** The one CN of a subject, or undefined when there is none or more than one. */
export function identityFromSubject(subject: x509.Name): string | undefined {
  const names = subject.getField(OID_COMMON_NAME);
  return names.length === 1 ? names[0] : undefined;
}
