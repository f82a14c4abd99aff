import { checkIdentity, commonNameSubject } from './subject-name.js';
import { x509, subtle, ECDSA_SHA256, P256_KEY_ALGORITHM } from './x509.js';

export interface ClientKey {
  /** PKCS#8 PEM, for node:tls `key`. Keep it in memory (or the keychain); never send it anywhere. */
  privateKeyPem: string;
  /** A PKCS#10 request for this key, to send to the control plane. */
  csr(identity: string): Promise<string>;
}

/** Client side: a fresh P-256 key pair; only its public half ever leaves this process (inside the CSR). */
export async function generateClientKey(): Promise<ClientKey> {
  // Extractable only so node:tls can be handed the PEM; it is never written anywhere by this module.
  const keys = await subtle.generateKey(P256_KEY_ALGORITHM, true, ['sign', 'verify']);
  const privateKeyPem = x509.PemConverter.encode(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return {
    privateKeyPem,
    async csr(identity: string): Promise<string> {
      checkIdentity(identity);
      const request = await x509.Pkcs10CertificateRequestGenerator.create({
        name: commonNameSubject(identity),
        keys,
        signingAlgorithm: ECDSA_SHA256,
      });
      return request.toString('pem');
    },
  };
}
