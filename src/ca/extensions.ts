import { x509 } from './x509.js';

// Which extensions each kind of certificate carries. The encoding is @peculiar/x509's; the bytes
// that never change are computed once.

const der = (extension: x509.Extension) => new Uint8Array(extension.rawData);

const NOT_A_CA = der(new x509.BasicConstraintsExtension(false, undefined, true));
const SIGNATURE_ONLY = der(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
// One purpose per certificate: a task certificate can never serve TLS, a server certificate can never log in.
const CLIENT_AUTH_ONLY = der(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]));
const SERVER_AUTH_ONLY = der(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));

/** A CA that signs leaf certificates only (path length 0) and certificate revocation lists. */
export function caExtensions(keyId: string): Uint8Array[] {
  return [
    der(new x509.BasicConstraintsExtension(true, 0, true)),
    der(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)),
    der(new x509.SubjectKeyIdentifierExtension(keyId)),
  ];
}

/** Names the issuer's key, so a verifier holding several CAs of the same name picks the right one. */
export function authorityKeyIdentifier(issuerKeyId: string): Uint8Array {
  return der(new x509.AuthorityKeyIdentifierExtension(issuerKeyId));
}

export function clientExtensions(authorityKeyId: Uint8Array, payload: Uint8Array): Uint8Array[] {
  return [NOT_A_CA, SIGNATURE_ONLY, CLIENT_AUTH_ONLY, authorityKeyId, payload];
}

export function serverExtensions(authorityKeyId: Uint8Array, altNames: x509.JsonGeneralName[]): Uint8Array[] {
  return [NOT_A_CA, SIGNATURE_ONLY, SERVER_AUTH_ONLY, authorityKeyId, der(new x509.SubjectAlternativeNameExtension(altNames))];
}
