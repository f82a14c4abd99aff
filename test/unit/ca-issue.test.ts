import { createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { CertificateAuthority, generateClientKey, parseTaskCert, TASK_CERT_EXTENSION_OID } from '../../src/ca/index.js';
import type { TaskCertPayload } from '../../src/ca/index.js';
import { x509 } from '../../src/ca/x509.js';
import { expectCaError, inOneHour, issueFor, newCa, samplePayload } from './ca-fixtures.js';

const user = await newCa('user', 'issue-tests');

const pemOf = (der: Uint8Array, label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

type CsrParams = Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0];

async function csrWithKeys(keys: webcrypto.CryptoKeyPair, signingAlgorithm: CsrParams['signingAlgorithm'], identity = 'agent-7'): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${identity}`, keys, signingAlgorithm });
  return csr.toString('pem');
}

function issueWithCsr(csrPem: string, overrides: Partial<{ identity: string; payload: TaskCertPayload }> = {}) {
  return user.issueTaskCert({ csrPem, identity: 'agent-7', payload: samplePayload(), notAfter: inOneHour(), ...overrides });
}

describe('issueTaskCert', () => {
  test('a client certificate for the CSR key: CN, issuer, validity, key usage, clientAuth only, payload', async () => {
    const key = await generateClientKey();
    const notAfter = new Date(Date.now() + 30 * 60_000 + 789);
    const before = Date.now();
    const cert = await user.issueTaskCert({ csrPem: await key.csr('agent-7'), identity: 'agent-7', payload: samplePayload(), notAfter });

    expect(cert.subject).toBe('agent-7');
    expect(cert.payload).toEqual(samplePayload());
    expect(cert.notAfter.getTime()).toBe(Math.floor(notAfter.getTime() / 1000) * 1000);
    expect(cert.notBefore.getTime()).toBeGreaterThanOrEqual(Math.floor((before - 60_000) / 1000) * 1000);
    expect(cert.notBefore.getTime()).toBeLessThanOrEqual(Date.now() - 59_000);
    expect(derOf(cert.pem).equals(cert.der)).toBe(true);

    // node:crypto (OpenSSL) reads it as we meant it
    const node = new X509Certificate(cert.der);
    const ca = new X509Certificate(user.certPem);
    expect(node.subject).toBe('CN=agent-7');
    expect(node.issuer).toBe(ca.subject);
    expect(node.checkIssued(ca)).toBe(true);
    expect(node.verify(ca.publicKey)).toBe(true);
    expect(node.ca).toBe(false);
    expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(node.serialNumber.toLowerCase()).toBe(cert.serial);
    expect(new Date(node.validTo).getTime()).toBe(cert.notAfter.getTime());
    expect(node.publicKey.equals(createPublicKey(key.privateKeyPem))).toBe(true);

    // and so does @peculiar/x509
    const lib = new x509.X509Certificate(cert.pem);
    const usage = lib.getExtension(x509.KeyUsagesExtension);
    expect(usage?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(usage?.critical).toBe(true);
    expect(lib.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    expect(lib.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(lib.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(
      new x509.X509Certificate(user.certPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    // exactly one extension besides the four standard ones: ours, not critical
    const custom = lib.extensions.filter((e) => !['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.35'].includes(e.type));
    expect(custom).toHaveLength(1);
    expect(custom[0]?.critical).toBe(false);
    // its value: one UTF8String (tag 0x0c, then the length) holding the payload as JSON
    const value = Buffer.from(custom[0]?.value ?? new ArrayBuffer(0));
    const json = Buffer.from(JSON.stringify(samplePayload()));
    expect(value[0]).toBe(0x0c);
    expect(value.subarray(value.length - json.length).equals(json)).toBe(true);
    expect(value.length - json.length).toBe(json.length < 128 ? 2 : json.length < 256 ? 3 : 4);
  });

  test('the extension OID is 2.25.<the UUID as a decimal>, encoded in full', async () => {
    expect(TASK_CERT_EXTENSION_OID).toBe(`2.25.${BigInt('0x74e223ee401f43608a408fb17483cf7d').toString()}`);
    const { cert } = await issueFor(user);
    // DER of the OID, computed independently (base-128 arcs, first byte 2*40+25 = 0x69)
    expect(cert.der.includes(Buffer.from('06146981e9e291fbc881fa8dc18aa0a3f697a48f9e7d', 'hex'))).toBe(true);
  });

  test('serials are 128 random bits: positive, unique, some with the top bit set', async () => {
    const key = await generateClientKey();
    const csrPem = await key.csr('agent-7');
    const serials = new Set<string>();
    let topBitSet = 0;
    for (let i = 0; i < 300; i++) {
      const cert = await issueWithCsr(csrPem);
      const value = BigInt(`0x${cert.serial}`);
      expect(value > 0n && value < 1n << 128n).toBe(true);
      expect(cert.serial).toMatch(/^(?:[1-9a-f][0-9a-f]|0[1-9a-f])(?:[0-9a-f]{2})*$/); // whole bytes, no leading zero byte
      if (value >= 1n << 127n) topBitSet++;
      serials.add(cert.serial);
    }
    expect(serials.size).toBe(300);
    expect(topBitSet).toBeGreaterThan(100); // about half
    expect(topBitSet).toBeLessThan(200);
  });

  test('unicode and DN metacharacters survive in the payload and the identity', async () => {
    const identity = 'Zoë "the bot", #1 + <x>=y\\ 🤖';
    const payload = samplePayload({
      task: { id: 'täsk-1', reason: 'Réparer l’export — 修复导出 🚀 "quoted" \\ back\nslash' },
      requester: 'Ådne Øvergård',
      traits: { 'équipe': ['factures', '請求'], empty: [] },
      accessRequest: 'req-9',
    });
    const { cert } = await issueFor(user, { identity, payload });
    const parsed = parseTaskCert(cert.der);
    expect(parsed.subject).toBe(identity);
    expect(parsed.payload).toEqual(payload);
    expect(parseTaskCert(cert.pem).payload).toEqual(payload);
    expect(new x509.X509Certificate(cert.der).subjectName.getField('CN')).toEqual([identity]);
  });

  test('the payload is copied: changing the caller object later changes nothing', async () => {
    const payload = samplePayload();
    const { cert } = await issueFor(user, { payload });
    payload.roles.push('admin');
    expect(cert.payload.roles).toEqual(['support-readonly']);
    expect(parseTaskCert(cert.der).payload.roles).toEqual(['support-readonly']);
  });

  test('a CSR whose signature does not match is refused', async () => {
    const key = await generateClientKey();
    const der = derOf(await key.csr('agent-7'));
    const at = der.indexOf(Buffer.from('agent-7'));
    expect(at).toBeGreaterThan(0);
    der[at] = 'b'.charCodeAt(0); // still valid DER, but not what was signed
    await expectCaError(() => issueWithCsr(pemOf(der, 'CERTIFICATE REQUEST')), 'AGENTDB_ERR_CA_BAD_CSR');

    // signed by a key other than the one it carries
    const a = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const b = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const forged = await csrWithKeys({ publicKey: a.publicKey, privateKey: b.privateKey }, { name: 'ECDSA', hash: 'SHA-256' });
    const error = await expectCaError(() => issueWithCsr(forged), 'AGENTDB_ERR_CA_BAD_CSR');
    expect(error.message).toContain('signature');

    const genuine = await csrWithKeys(a, { name: 'ECDSA', hash: 'SHA-384' });
    expect((await issueWithCsr(genuine)).subject).toBe('agent-7');
  });

  test('keys other than ECDSA P-256 are refused', async () => {
    const p384 = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
    const rsa = await webcrypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    );
    const ed = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair;
    const p384Error = await expectCaError(
      async () => issueWithCsr(await csrWithKeys(p384, { name: 'ECDSA', hash: 'SHA-384' })),
      'AGENTDB_ERR_CA_BAD_KEY',
    );
    expect(p384Error.message).toContain('secp384r1');
    await expectCaError(async () => issueWithCsr(await csrWithKeys(rsa, { name: 'RSASSA-PKCS1-v1_5' })), 'AGENTDB_ERR_CA_BAD_KEY');
    await expectCaError(async () => issueWithCsr(await csrWithKeys(ed, { name: 'Ed25519' })), 'AGENTDB_ERR_CA_BAD_KEY');
  });

  test('malformed CSRs are CaErrors, never crashes', async () => {
    const good = derOf(await (await generateClientKey()).csr('agent-7'));
    const cases: unknown[] = [
      '',
      'garbage',
      '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n',
      '-----BEGIN CERTIFICATE REQUEST-----\n!!!not base64!!!\n-----END CERTIFICATE REQUEST-----\n',
      '-----BEGIN CERTIFICATE REQUEST-----\nMIIB',
      pemOf(good.subarray(0, good.length - 10), 'CERTIFICATE REQUEST'),
      pemOf(Buffer.concat([good, Buffer.from([0])]), 'CERTIFICATE REQUEST'),
      pemOf(webcrypto.getRandomValues(new Uint8Array(300)), 'CERTIFICATE REQUEST'),
      pemOf(Buffer.from('3003020100', 'hex'), 'CERTIFICATE REQUEST'),
      pemOf(good, 'CERTIFICATE'),
      user.certPem,
      undefined,
      42,
    ];
    for (const csrPem of cases) await expectCaError(() => issueWithCsr(csrPem as string), 'AGENTDB_ERR_CA_BAD_CSR');
  });

  test('bad identities are refused, both by the CA and when making a CSR', async () => {
    const csrPem = await (await generateClientKey()).csr('agent-7');
    for (const identity of ['', 'line\nbreak', 'nul\u0000', 'x'.repeat(256), undefined]) {
      await expectCaError(() => issueWithCsr(csrPem, { identity: identity as string }), 'AGENTDB_ERR_CA_BAD_IDENTITY');
    }
    await expectCaError(async () => (await generateClientKey()).csr(''), 'AGENTDB_ERR_CA_BAD_IDENTITY');
    expect((await issueWithCsr(csrPem, { identity: 'x'.repeat(255) })).subject).toHaveLength(255);
  });

  test('payloads of the wrong shape are refused before anything is signed', async () => {
    const csrPem = await (await generateClientKey()).csr('agent-7');
    const { loginSession: _dropped, ...withoutLoginSession } = samplePayload();
    const wrong: unknown[] = [
      withoutLoginSession,
      { ...samplePayload(), extra: true },
      { ...samplePayload(), kind: 'robot' },
      { ...samplePayload(), roles: 'admin' },
      { ...samplePayload(), roles: [''] },
      { ...samplePayload(), traits: { team: 'billing' } },
      { ...samplePayload(), task: { id: '', reason: 'x' } },
      { ...samplePayload(), task: { id: 't', reason: 'x', extra: 1 } },
      { ...samplePayload(), db: { service: 'customers', names: ['customers'] } },
      { ...samplePayload(), accessRequest: null },
      { ...samplePayload(), requester: 7 },
      { ...samplePayload(), traits: { big: ['x'.repeat(20_000)] } },
      null,
      'payload',
    ];
    for (const payload of wrong) {
      await expectCaError(() => issueWithCsr(csrPem, { payload: payload as TaskCertPayload }), 'AGENTDB_ERR_CA_BAD_PAYLOAD');
    }
  });

  test('accessRequest is optional: absent stays absent', async () => {
    const { cert } = await issueFor(user);
    expect('accessRequest' in parseTaskCert(cert.der).payload).toBe(false);
    const { cert: withRequest } = await issueFor(user, { payload: samplePayload({ accessRequest: 'req-1' }) });
    expect(parseTaskCert(withRequest.der).payload.accessRequest).toBe('req-1');
  });

  test('issuance speed (logged, not asserted)', async () => {
    const csrPem = await (await generateClientKey()).csr('agent-7');
    const payload = samplePayload();
    const notAfter = inOneHour();
    const count = 2000;
    const started = performance.now();
    for (let i = 0; i < count; i++) await user.issueTaskCert({ csrPem, identity: 'agent-7', payload, notAfter });
    const seconds = (performance.now() - started) / 1000;
    console.log(`ca: issued ${count} task certificates in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} certs/s (one CSR verified per certificate)`);
    expect(user).toBeInstanceOf(CertificateAuthority);
  });
});
