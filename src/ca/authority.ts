import { hostname } from 'node:os';
import { loadOrCreateCaFiles } from './ca-files.js';
import type { CaMaterial, CaName } from './ca-files.js';
import { signCertificate, signCertificateOffThread } from './certificate-der.js';
import { publicKeyFromCsr } from './csr.js';
import { CaError, CaErrorCode } from './errors.js';
import { authorityKeyIdentifier, clientExtensions, serverExtensions } from './extensions.js';
import { generateP256, privateKeyPem, spkiDer } from './p256.js';
import { encodePayload } from './payload.js';
import type { TaskCertPayload } from './payload.js';
import { pemEncode } from './pem.js';
import { serverAltNames } from './server-names.js';
import { checkIdentity, commonNameDer } from './subject-name.js';
import type { TaskCertificate } from './task-cert.js';

/** Certificates start a minute in the past, so a peer whose clock runs a little behind accepts them. */
const CLOCK_SKEW_MS = 60 * 1000;

export interface IssueTaskCertOptions {
  csrPem: string;
  identity: string;
  payload: TaskCertPayload;
  notAfter: Date;
  /** The issuance clock (default: the real one); tests set it in the past to make expired certificates. */
  now?: Date;
}

export interface IssueServerCertOptions {
  hosts: string[];
  ttlMs: number;
}

/**
 * One of the control plane's two CAs. The user CA signs task certificates (clients of the gateway);
 * the host CA signs the TLS server certificates of the API and the gateway. Keeping them apart means
 * a leaked server certificate can never log in, and a task certificate can never impersonate a server.
 *
 * Everything issuance needs (key, issuer name, key identifier) is read once at load, and certificates
 * are encoded and signed without building an object model: several thousand per second per core.
 */
export class CertificateAuthority {
  readonly name: CaName;
  readonly certPem: string;
  readonly #material: CaMaterial;
  readonly #authorityKeyId: Uint8Array;

  private constructor(name: CaName, material: CaMaterial) {
    this.name = name;
    this.certPem = material.certPem;
    this.#material = material;
    this.#authorityKeyId = authorityKeyIdentifier(material.keyId);
  }

  /**
   * Loads `<dir>/<name>-ca.key` and `<dir>/<name>-ca.pem`, or creates them (key PKCS#8 PEM 0600,
   * certificate 0644, directory 0700). `clusterName` (default: this host's name) only names a new CA.
   */
  static async loadOrCreate(dir: string, name: CaName, clusterName: string = hostname()): Promise<CertificateAuthority> {
    if (name !== 'user' && name !== 'host') {
      throw new CaError(CaErrorCode.BAD_NAME, `there is no "${String(name)}" CA; the CAs are "user" and "host"`);
    }
    return new CertificateAuthority(name, await loadOrCreateCaFiles(dir, name, clusterName));
  }

  /** When this CA's own certificate expires; nothing it signs may outlive it. */
  get notAfter(): Date {
    return this.#material.notAfter;
  }

  async issueTaskCert(opts: IssueTaskCertOptions): Promise<TaskCertificate> {
    this.#require('user', 'task certificates');
    const now = opts.now ?? new Date();
    this.#checkValidity(now, opts.notAfter);
    checkIdentity(opts.identity);
    const { payload, extension } = encodePayload(opts.payload);
    const spki = await publicKeyFromCsr(opts.csrPem);
    const cert = await signCertificateOffThread(
      {
        issuer: this.#material.subject,
        subject: commonNameDer(opts.identity),
        spki,
        notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
        notAfter: opts.notAfter,
        extensions: clientExtensions(this.#authorityKeyId, extension),
      },
      this.#material.signingKey,
    );
    const der = Buffer.from(cert.der);
    return {
      subject: opts.identity,
      serial: cert.serial,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      payload,
      der,
      pem: pemEncode(der, 'CERTIFICATE'),
    };
  }

  /** A TLS server certificate with a fresh P-256 key; IP hosts become IP SANs, the rest DNS SANs. */
  async issueServerCert(opts: IssueServerCertOptions): Promise<{ certPem: string; keyPem: string }> {
    this.#require('host', 'server certificates');
    const altNames = serverAltNames(opts.hosts);
    if (typeof opts.ttlMs !== 'number' || !Number.isFinite(opts.ttlMs) || opts.ttlMs <= 0) {
      throw new CaError(CaErrorCode.BAD_VALIDITY, 'a server certificate needs a positive lifetime (ttlMs)');
    }
    const now = new Date();
    const notAfter = new Date(now.getTime() + opts.ttlMs);
    this.#checkValidity(now, notAfter);
    const { privateKey, publicKey } = await generateP256();
    const cert = signCertificate(
      {
        issuer: this.#material.subject,
        subject: commonNameDer(altNames[0]?.value ?? ''),
        spki: spkiDer(publicKey),
        notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
        notAfter,
        extensions: serverExtensions(this.#authorityKeyId, altNames),
      },
      this.#material.signingKey,
    );
    return { certPem: pemEncode(cert.der, 'CERTIFICATE'), keyPem: privateKeyPem(privateKey) };
  }

  #require(name: CaName, what: string): void {
    if (this.name !== name) {
      throw new CaError(CaErrorCode.WRONG_CA, `the ${this.name} CA does not sign ${what}; the ${name} CA does`);
    }
  }

  #checkValidity(now: Date, notAfter: Date): void {
    const valid = (date: unknown): date is Date => date instanceof Date && !Number.isNaN(date.getTime());
    if (!valid(now) || !valid(notAfter)) {
      throw new CaError(CaErrorCode.BAD_VALIDITY, 'the certificate lifetime must be given as valid dates');
    }
    if (notAfter.getTime() <= now.getTime()) {
      throw new CaError(CaErrorCode.BAD_VALIDITY, `the certificate would expire (${notAfter.toISOString()}) before it is issued`);
    }
    if (notAfter.getTime() > this.notAfter.getTime()) {
      throw new CaError(
        CaErrorCode.BAD_VALIDITY,
        `the certificate would outlive the ${this.name} CA (which expires ${this.notAfter.toISOString()}); ask for a shorter lifetime`,
      );
    }
  }
}
