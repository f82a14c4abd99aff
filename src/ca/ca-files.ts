import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signCertificate, subjectAndKeyOf } from './certificate-der.js';
import { caExtensions } from './extensions.js';
import { CaError, CaErrorCode } from './errors.js';
import { generateP256, isP256, keyIdentifier, privateKeyPem, spkiDer } from './p256.js';
import { pemEncode } from './pem.js';
import { commonNameDer } from './subject-name.js';
import { readCertificate } from './read-certificate.js';
import { x509 } from './x509.js';

export type CaName = 'user' | 'host';

/** Everything issuance needs, read once when the CA is loaded. */
export interface CaMaterial {
  signingKey: KeyObject;
  certPem: string;
  /** The CA's subject Name, byte for byte: the issuer of everything it signs. */
  subject: Uint8Array;
  keyId: string;
  notAfter: Date;
}

const CA_VALIDITY_MS = 10 * 365 * 24 * 60 * 60 * 1000;
const CLOCK_SKEW_MS = 60 * 1000;

function caFilePaths(dir: string, name: CaName): { keyPath: string; certPath: string } {
  return { keyPath: join(dir, `${name}-ca.key`), certPath: join(dir, `${name}-ca.pem`) };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaError(CaErrorCode.FILES, `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

const RACE_WAIT_MS = 2000;

async function readCaPems(paths: { keyPath: string; certPath: string }, waitMs: number): Promise<{ keyPem?: string; certPem?: string }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const keyPem = await readIfExists(paths.keyPath);
    const certPem = await readIfExists(paths.certPath);
    if ((keyPem === undefined) === (certPem === undefined) || Date.now() >= deadline) return { keyPem, certPem };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function createCaPem(name: CaName, clusterName: string): Promise<{ keyPem: string; certPem: string }> {
  const { privateKey, publicKey } = await generateP256();
  const spki = spkiDer(publicKey);
  const subject = commonNameDer(`agentdb ${name} CA ${clusterName}`);
  const now = Date.now();
  const cert = signCertificate(
    {
      issuer: subject,
      subject,
      spki,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + CA_VALIDITY_MS),
      extensions: caExtensions(keyIdentifier(spki)),
    },
    privateKey,
  );
  return { keyPem: privateKeyPem(privateKey), certPem: pemEncode(cert.der, 'CERTIFICATE') };
}

/**
 * Writes a file under a temporary name and then hard-links it into place: link() refuses to replace
 * an existing file, so two processes starting at once can never overwrite each other's CA key.
 * Returns false when the file already existed.
 */
async function writeExclusive(path: string, content: string, mode: number): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode, flag: 'wx' });
  try {
    await chmod(temporary, mode); // the umask may have taken bits away from `mode`
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

function importCa(keyPem: string, certPem: string, paths: { keyPath: string; certPath: string }): CaMaterial {
  const corrupt = (why: string, cause?: unknown) =>
    new CaError(CaErrorCode.CORRUPT, `the CA in ${paths.keyPath} and ${paths.certPath} is unusable: ${why}`, { cause });
  let cert: x509.X509Certificate;
  let certificate: { subject: Uint8Array; spki: Uint8Array };
  try {
    cert = readCertificate(certPem);
    certificate = subjectAndKeyOf(new Uint8Array(cert.rawData));
  } catch (cause) {
    throw corrupt('the certificate cannot be parsed', cause);
  }
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(keyPem);
  } catch (cause) {
    throw corrupt('the private key cannot be read', cause);
  }
  if (!isP256(signingKey)) throw corrupt('the private key is not an ECDSA P-256 key');
  if (!Buffer.from(spkiDer(createPublicKey(signingKey))).equals(certificate.spki)) {
    throw corrupt('the certificate does not belong to the private key');
  }
  let keyId: string;
  try {
    if (!cert.getExtension(x509.BasicConstraintsExtension)?.ca) throw new Error('basicConstraints CA is not set');
    keyId = cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? keyIdentifier(certificate.spki);
  } catch (cause) {
    throw corrupt('the certificate is not a CA certificate', cause);
  }
  if (cert.notAfter.getTime() <= Date.now()) {
    throw new CaError(
      CaErrorCode.EXPIRED,
      `the CA certificate ${paths.certPath} expired on ${cert.notAfter.toISOString()}; move both CA files away to create a new CA (certificates signed by the old one stop working)`,
    );
  }
  return { signingKey, certPem: pemEncode(new Uint8Array(cert.rawData), 'CERTIFICATE'), subject: certificate.subject, keyId, notAfter: cert.notAfter };
}

/** Loads `<dir>/<name>-ca.key` and `<dir>/<name>-ca.pem`, creating both when neither exists. */
export async function loadOrCreateCaFiles(dir: string, name: CaName, clusterName: string): Promise<CaMaterial> {
  const paths = caFilePaths(dir, name);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new CaError(CaErrorCode.FILES, `cannot create the data directory ${dir}: ${(cause as Error).message}`, { cause });
  }
  let { keyPem, certPem } = await readCaPems(paths, 0);
  if (keyPem === undefined && certPem === undefined) {
    const created = await createCaPem(name, clusterName);
    let wonRace: boolean;
    try {
      // The key goes first: a certificate without its key is useless, a key without its certificate is refused below.
      wonRace = await writeExclusive(paths.keyPath, created.keyPem, 0o600);
      if (wonRace) await writeExclusive(paths.certPath, created.certPem, 0o644);
    } catch (cause) {
      throw new CaError(CaErrorCode.FILES, `cannot write the ${name} CA into ${dir}: ${(cause as Error).message}`, { cause });
    }
    // Read back what is on disk: if another process won the race, its CA is the one to use, and
    // its certificate may land a moment after its key.
    ({ keyPem, certPem } = await readCaPems(paths, wonRace ? 0 : RACE_WAIT_MS));
  }
  if (keyPem === undefined || certPem === undefined) {
    const [present, missing] = keyPem === undefined ? [paths.certPath, paths.keyPath] : [paths.keyPath, paths.certPath];
    throw new CaError(
      CaErrorCode.INCOMPLETE,
      `${present} exists but ${missing} does not; restore the missing file, or remove both to create a new ${name} CA`,
    );
  }
  return importCa(keyPem, certPem, paths);
}
