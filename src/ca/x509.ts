// The one place that loads @peculiar/x509, so its prerequisites are met before its module body runs:
// ES modules evaluate their imports in order, so the Reflect polyfill is in place when tsyringe checks.
import './reflect-metadata.js';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto);

export { x509 };
export const subtle = webcrypto.subtle;
// The project compiles without the DOM library, so the WebCrypto types come from node:crypto.
export type CryptoKey = webcrypto.CryptoKey;

/** The client's key pair, made with WebCrypto so @peculiar/x509 can sign its CSR. */
export const P256_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
/** The CSR's signature; certificates are signed in certificate-der.ts, with the same algorithm. */
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
