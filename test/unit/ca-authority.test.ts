import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { x509 } from '../../src/ca/x509.js';
import { CaError, CertificateAuthority } from '../../src/ca/index.js';
import { verifyTaskCert } from '../helpers/task-cert-verify.js';
import { expectCaError, issueFor, newCa, tempDir } from './ca-fixtures.js';

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('CertificateAuthority.loadOrCreate', () => {
  test('creates the key (0600), the certificate (0644) and the directory (0700)', async () => {
    const dir = join(await tempDir(), 'nested', 'data');
    const ca = await CertificateAuthority.loadOrCreate(dir, 'user', 'prod-eu');
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, 'user-ca.key'))).toBe(0o600);
    expect(await mode(join(dir, 'user-ca.pem'))).toBe(0o644);
    const keyPem = await readFile(join(dir, 'user-ca.key'), 'utf8');
    expect(keyPem).toMatch(new RegExp(`^-----BEGIN ${'PRIVATE'} KEY-----\n`)); // PKCS#8
    expect(await readFile(join(dir, 'user-ca.pem'), 'utf8')).toBe(ca.certPem);
  });

  test('reloads the same CA on the second call, and it still verifies what it signed before', async () => {
    const dir = await tempDir();
    const first = await CertificateAuthority.loadOrCreate(dir, 'user', 'one');
    const keyBefore = await readFile(join(dir, 'user-ca.key'), 'utf8');
    const { cert } = await issueFor(first);
    const second = await CertificateAuthority.loadOrCreate(dir, 'user', 'another-name-is-ignored');
    expect(second.certPem).toBe(first.certPem);
    expect(await readFile(join(dir, 'user-ca.key'), 'utf8')).toBe(keyBefore);
    expect(await verifyTaskCert(cert, second.certPem)).toBe('ok');
    const { cert: later } = await issueFor(second);
    expect(await verifyTaskCert(later, first.certPem)).toBe('ok');
  });

  test('two CAs in one directory are separate files and separate keys', async () => {
    const dir = await tempDir();
    const user = await CertificateAuthority.loadOrCreate(dir, 'user', 'c');
    const host = await CertificateAuthority.loadOrCreate(dir, 'host', 'c');
    expect(user.certPem).not.toBe(host.certPem);
    expect(new X509Certificate(user.certPem).publicKey.equals(new X509Certificate(host.certPem).publicKey)).toBe(false);
    expect(new X509Certificate(host.certPem).subject).toBe('CN=agentdb host CA c');
  });

  test('concurrent first starts agree on one CA', async () => {
    const dir = await tempDir();
    const cas = await Promise.all([1, 2, 3, 4].map(() => CertificateAuthority.loadOrCreate(dir, 'user', 'race')));
    for (const ca of cas) expect(ca.certPem).toBe(cas[0]?.certPem);
    expect(await readFile(join(dir, 'user-ca.pem'), 'utf8')).toBe(cas[0]?.certPem);
  });

  test('the CA certificate: self-signed, CA:true pathlen 0, keyCertSign|cRLSign, CN, ten years, P-256', async () => {
    const ca = await newCa('user', 'prod-eu');
    const cert = new x509.X509Certificate(ca.certPem);
    expect(cert.subject).toBe('CN=agentdb user CA prod-eu');
    expect(cert.issuer).toBe(cert.subject);
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    expect(basic?.ca).toBe(true);
    expect(basic?.pathLength).toBe(0);
    expect(basic?.critical).toBe(true);
    const usage = cert.getExtension(x509.KeyUsagesExtension);
    expect(usage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(usage?.critical).toBe(true);
    expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    const years = (cert.notAfter.getTime() - cert.notBefore.getTime()) / (365 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(9.99);
    expect(years).toBeLessThan(10.01);
    const node = new X509Certificate(ca.certPem);
    expect(node.ca).toBe(true);
    expect(node.verify(node.publicKey)).toBe(true);
    expect(node.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(node.checkIssued(node)).toBe(true);
  });

  test('a key without its certificate (or the reverse) is refused, never replaced', async () => {
    const dir = await tempDir();
    await CertificateAuthority.loadOrCreate(dir, 'user', 'c');
    const keyBefore = await readFile(join(dir, 'user-ca.key'), 'utf8');
    await rm(join(dir, 'user-ca.pem'));
    const error = await expectCaError(() => CertificateAuthority.loadOrCreate(dir, 'user', 'c'), 'AGENTDB_ERR_CA_INCOMPLETE');
    expect(error.message).toContain('user-ca.pem');
    expect(await readFile(join(dir, 'user-ca.key'), 'utf8')).toBe(keyBefore);

    const other = await tempDir();
    await CertificateAuthority.loadOrCreate(other, 'host', 'c');
    await rm(join(other, 'host-ca.key'));
    await expectCaError(() => CertificateAuthority.loadOrCreate(other, 'host', 'c'), 'AGENTDB_ERR_CA_INCOMPLETE');
  });

  test('damaged or mismatched files are a CaError', async () => {
    const dir = await tempDir();
    await CertificateAuthority.loadOrCreate(dir, 'user', 'c');
    await CertificateAuthority.loadOrCreate(dir, 'host', 'c');
    const userKey = await readFile(join(dir, 'user-ca.key'), 'utf8');
    const hostKey = await readFile(join(dir, 'host-ca.key'), 'utf8');

    await writeFile(join(dir, 'user-ca.key'), hostKey);
    const mismatch = await expectCaError(() => CertificateAuthority.loadOrCreate(dir, 'user'), 'AGENTDB_ERR_CA_CORRUPT');
    expect(mismatch.message).toContain('does not belong');

    await writeFile(join(dir, 'user-ca.key'), 'not a key');
    await expectCaError(() => CertificateAuthority.loadOrCreate(dir, 'user'), 'AGENTDB_ERR_CA_CORRUPT');

    await writeFile(join(dir, 'user-ca.key'), userKey);
    await writeFile(join(dir, 'user-ca.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expectCaError(() => CertificateAuthority.loadOrCreate(dir, 'user'), 'AGENTDB_ERR_CA_CORRUPT');
  });

  test('an unknown CA name is refused, and an unusable directory is a CaError', async () => {
    await expectCaError(() => CertificateAuthority.loadOrCreate('/nonexistent', 'admin' as 'user'), 'AGENTDB_ERR_CA_BAD_NAME');
    const file = join(await tempDir(), 'a-file');
    await writeFile(file, 'x');
    const error = await expectCaError(() => CertificateAuthority.loadOrCreate(join(file, 'data'), 'user'), 'AGENTDB_ERR_CA_FILES');
    expect(error).toBeInstanceOf(CaError);
  });
});

describe('which CA signs what', () => {
  test('the host CA signs no task certificates and the user CA no server certificates', async () => {
    const host = await newCa('host');
    const user = await newCa('user');
    await expectCaError(() => issueFor(host), 'AGENTDB_ERR_CA_WRONG_CA');
    await expectCaError(() => user.issueServerCert({ hosts: ['localhost'], ttlMs: 60_000 }), 'AGENTDB_ERR_CA_WRONG_CA');
  });

  test('server certificates: IP and DNS SANs, serverAuth only, a fresh P-256 key each time', async () => {
    const host = await newCa('host');
    const a = await host.issueServerCert({ hosts: ['127.0.0.1', 'localhost', '::1', 'Gateway.Example.com', 'localhost'], ttlMs: 24 * 3600_000 });
    const b = await host.issueServerCert({ hosts: ['localhost'], ttlMs: 60_000 });
    expect(a.keyPem).toMatch(new RegExp(`^-----BEGIN ${'PRIVATE'} KEY-----\n`));
    expect(a.keyPem).not.toBe(b.keyPem);
    const cert = new X509Certificate(a.certPem);
    expect(cert.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1, DNS:gateway.example.com');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(new X509Certificate(host.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(host.certPem).publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const lifetime = new Date(cert.validTo).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(24 * 3600_000 - 5_000);
    expect(lifetime).toBeLessThanOrEqual(24 * 3600_000);
  });

  test('server certificate requests with bad hosts or lifetimes are CaErrors', async () => {
    const host = await newCa('host');
    await expectCaError(() => host.issueServerCert({ hosts: [], ttlMs: 60_000 }), 'AGENTDB_ERR_CA_BAD_HOST');
    await expectCaError(() => host.issueServerCert({ hosts: ['bad host'], ttlMs: 60_000 }), 'AGENTDB_ERR_CA_BAD_HOST');
    await expectCaError(() => host.issueServerCert({ hosts: ['a..b'], ttlMs: 60_000 }), 'AGENTDB_ERR_CA_BAD_HOST');
    await expectCaError(() => host.issueServerCert({ hosts: [42 as unknown as string], ttlMs: 60_000 }), 'AGENTDB_ERR_CA_BAD_HOST');
    await expectCaError(() => host.issueServerCert({ hosts: ['localhost'], ttlMs: 0 }), 'AGENTDB_ERR_CA_BAD_VALIDITY');
    await expectCaError(() => host.issueServerCert({ hosts: ['localhost'], ttlMs: Number.NaN }), 'AGENTDB_ERR_CA_BAD_VALIDITY');
    await expectCaError(() => host.issueServerCert({ hosts: ['localhost'], ttlMs: 20 * 365 * 24 * 3600_000 }), 'AGENTDB_ERR_CA_BAD_VALIDITY');
  });

  test('task certificate lifetimes must end after issuance and before the CA expires', async () => {
    const user = await newCa('user');
    await expectCaError(() => issueFor(user, { notAfter: new Date(Date.now() - 1000) }), 'AGENTDB_ERR_CA_BAD_VALIDITY');
    await expectCaError(() => issueFor(user, { notAfter: new Date(Number.NaN) }), 'AGENTDB_ERR_CA_BAD_VALIDITY');
    await expectCaError(() => issueFor(user, { notAfter: new Date(user.notAfter.getTime() + 1000) }), 'AGENTDB_ERR_CA_BAD_VALIDITY');
    const { cert } = await issueFor(user, { notAfter: user.notAfter }); // up to the CA's own expiry is fine
    expect(cert.notAfter.getTime()).toBe(user.notAfter.getTime());
  });
});
