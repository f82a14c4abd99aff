import { webcrypto } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { parseTaskCert } from '../../src/ca/index.js';
import { verifyTaskCert } from '../helpers/task-cert-verify.js';
import type { TaskCertificate } from '../../src/ca/index.js';
import { signCertificate } from '../../src/ca/certificate-der.js';
import { objectIdentifier, octetString, sequence, tlv, TAG, utf8String } from '../../src/ca/der.js';
import { authorityKeyIdentifier, clientExtensions } from '../../src/ca/extensions.js';
import { generateP256, spkiDer } from '../../src/ca/p256.js';
import { commonNameDer } from '../../src/ca/subject-name.js';
import { x509 } from '../../src/ca/x509.js';
import { expectCaError, inOneHour, issueFor, newCa, samplePayload } from './ca-fixtures.js';

const user = await newCa('user', 'parse-tests');
const { cert: good } = await issueFor(user);

// A forger's toolkit: certificates with whatever extensions a test needs, signed by a throw-away key.
const forger = await generateP256();
const subjectKey = spkiDer((await generateP256()).publicKey);
const payloadOid = objectIdentifier('2.25.155364635361562754012644738193397370749');
const extensionWithValue = (value: Uint8Array) => sequence(payloadOid, octetString(value));
const payloadExtension = (json: string) => extensionWithValue(utf8String(json));

function forge(opts: { extensions?: Uint8Array[]; subject?: Uint8Array; issuer?: Uint8Array; notAfter?: Date } = {}): Buffer {
  const cert = signCertificate(
    {
      issuer: opts.issuer ?? commonNameDer('forger'),
      subject: opts.subject ?? commonNameDer('agent-7'),
      spki: subjectKey,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: opts.notAfter ?? inOneHour(),
      extensions: opts.extensions ?? clientExtensions(authorityKeyIdentifier('00'), payloadExtension(JSON.stringify(samplePayload()))),
    },
    forger.privateKey,
  );
  return Buffer.from(cert.der);
}
const withPayload = (extension: Uint8Array) => forge({ extensions: clientExtensions(authorityKeyIdentifier('00'), extension) });

describe('parseTaskCert', () => {
  test('reads DER and PEM alike, back to what was issued', () => {
    for (const input of [good.der, good.pem]) {
      const parsed = parseTaskCert(input);
      expect(parsed).toEqual(good);
    }
  });

  test('a forged certificate of the right shape parses (parsing is not trusting)', () => {
    expect(parseTaskCert(forge()).payload).toEqual(samplePayload());
  });

  test('garbage is a CaError, never a crash', async () => {
    const cases: unknown[] = [
      '',
      'hello',
      good.pem.replace('CERTIFICATE', 'CERTIFICATE REQUEST'),
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
      Buffer.alloc(0),
      good.der.subarray(0, good.der.length - 20),
      Buffer.concat([good.der, Buffer.from([0])]),
      Buffer.from(webcrypto.getRandomValues(new Uint8Array(500))),
      Buffer.from('3000', 'hex'),
      42,
      null,
    ];
    for (const input of cases) await expectCaError(() => parseTaskCert(input as Buffer), 'AGENTDB_ERR_CA_BAD_CERT');
  });

  test('a certificate without clientAuth (a server certificate) is refused', async () => {
    const host = await newCa('host');
    const { certPem } = await host.issueServerCert({ hosts: ['localhost'], ttlMs: 60_000 });
    await expectCaError(() => parseTaskCert(certPem), 'AGENTDB_ERR_CA_NOT_CLIENT_CERT');
  });

  test('the subject must be exactly one CN', async () => {
    const twoNames = sequence(
      tlv(TAG.set, sequence(objectIdentifier('2.5.4.3'), utf8String('a'))),
      tlv(TAG.set, sequence(objectIdentifier('2.5.4.3'), utf8String('b'))),
    );
    await expectCaError(() => parseTaskCert(forge({ subject: twoNames })), 'AGENTDB_ERR_CA_BAD_CERT');
    const noCommonName = sequence(tlv(TAG.set, sequence(objectIdentifier('2.5.4.10'), utf8String('org'))));
    await expectCaError(() => parseTaskCert(forge({ subject: noCommonName })), 'AGENTDB_ERR_CA_BAD_CERT');
  });

  test('a missing or malformed payload is AGENTDB_ERR_CA_BAD_PAYLOAD', async () => {
    const { loginSession: _dropped, ...withoutLoginSession } = samplePayload();
    const badJson = [
      JSON.stringify(withoutLoginSession),
      JSON.stringify({ ...samplePayload(), readOnly: false }), // an unknown field might restrict access: refuse
      JSON.stringify({ ...samplePayload(), kind: 'root' }),
      JSON.stringify({ ...samplePayload(), roles: [1] }),
      JSON.stringify({ ...samplePayload(), traits: { team: 'billing' } }),
      JSON.stringify({ ...samplePayload(), db: { ...samplePayload().db, users: 'readonly' } }),
      JSON.stringify({ ...samplePayload(), task: { id: 'x' } }),
      JSON.stringify([samplePayload()]),
      'null',
      '{"kind":',
      '',
    ];
    for (const json of badJson) await expectCaError(() => parseTaskCert(withPayload(payloadExtension(json))), 'AGENTDB_ERR_CA_BAD_PAYLOAD');

    const jsonBytes = Buffer.from(JSON.stringify(samplePayload()));
    const badValues = [
      jsonBytes, // raw JSON, not wrapped in a UTF8String
      octetString(jsonBytes), // wrong type
      Buffer.concat([utf8String(JSON.stringify(samplePayload())), Buffer.from([0])]), // trailing byte
      tlv(TAG.utf8String, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), // not UTF-8
      Buffer.from([0x0c, 0x81, 0x05, 0x61, 0x61, 0x61, 0x61, 0x61]), // non-minimal length
      Buffer.from([0x0c, 0x80, 0x61, 0x00, 0x00]), // indefinite length
    ];
    for (const value of badValues) await expectCaError(() => parseTaskCert(withPayload(extensionWithValue(value))), 'AGENTDB_ERR_CA_BAD_PAYLOAD');

    const noPayload = forge({ extensions: clientExtensions(authorityKeyIdentifier('00'), new Uint8Array(0)) });
    const missing = await expectCaError(() => parseTaskCert(noPayload), 'AGENTDB_ERR_CA_BAD_PAYLOAD');
    expect(missing.message).toContain('missing');

    const twice = payloadExtension(JSON.stringify(samplePayload()));
    await expectCaError(
      () => parseTaskCert(forge({ extensions: [...clientExtensions(authorityKeyIdentifier('00'), twice), twice] })),
      'AGENTDB_ERR_CA_BAD_PAYLOAD',
    );
  });
});

describe('verifyTaskCert', () => {
  test('ok for a fresh certificate of this CA', async () => {
    expect(await verifyTaskCert(good, user.certPem)).toBe('ok');
    expect(await verifyTaskCert(parseTaskCert(good.pem), user.certPem)).toBe('ok');
  });

  test('expired and not yet valid, at the edges of the validity window', async () => {
    expect(await verifyTaskCert(good, user.certPem, new Date(good.notAfter.getTime() + 1000))).toBe('expired');
    expect(await verifyTaskCert(good, user.certPem, good.notAfter)).toBe('ok');
    expect(await verifyTaskCert(good, user.certPem, new Date(good.notBefore.getTime() - 1000))).toBe('not-yet-valid');
    expect(await verifyTaskCert(good, user.certPem, good.notBefore)).toBe('ok');
    const hourAgo = new Date(Date.now() - 3600_000);
    const { cert: old } = await issueFor(user, { now: hourAgo, notAfter: new Date(hourAgo.getTime() + 60_000) });
    expect(await verifyTaskCert(old, user.certPem)).toBe('expired');
  });

  test('unknown-ca for another CA, even one with the same name', async () => {
    const other = await newCa('user', 'parse-tests'); // same subject name, different key
    expect(new x509.X509Certificate(other.certPem).subject).toBe(new x509.X509Certificate(user.certPem).subject);
    expect(await verifyTaskCert(good, other.certPem)).toBe('unknown-ca');
    const { cert: theirs } = await issueFor(await newCa('user', 'elsewhere'));
    expect(await verifyTaskCert(theirs, user.certPem)).toBe('unknown-ca');
    expect(await verifyTaskCert(parseTaskCert(forge()), user.certPem)).toBe('unknown-ca');
  });

  test('bad-signature when the bytes were changed after signing', async () => {
    const tampered = Buffer.from(good.der);
    const at = tampered.indexOf(Buffer.from('support-readonly'));
    expect(at).toBeGreaterThan(0);
    tampered.write('support-readwrit', at); // same length: still well-formed, now claims another role
    const forgedRole = parseTaskCert(tampered);
    expect(forgedRole.payload.roles).toEqual(['support-readwrit']);
    expect(await verifyTaskCert(forgedRole, user.certPem)).toBe('bad-signature');

    const badSignature = Buffer.from(good.der);
    badSignature.writeUInt8(badSignature.readUInt8(badSignature.length - 1) ^ 0x01, badSignature.length - 1);
    expect(await verifyTaskCert({ ...good, der: badSignature }, user.certPem)).toBe('bad-signature');
  });

  test('bad-signature for a certificate that names this CA but was signed by another key', async () => {
    const caSubject = new Uint8Array(new x509.X509Certificate(user.certPem).subjectName.toArrayBuffer());
    const noKeyIdentifier = new Uint8Array(0); // nothing to tell it apart but the signature
    const impostor = parseTaskCert(
      forge({ issuer: caSubject, extensions: clientExtensions(noKeyIdentifier, payloadExtension(JSON.stringify(samplePayload()))) }),
    );
    expect(await verifyTaskCert(impostor, user.certPem)).toBe('bad-signature');
  });

  test('an unreadable CA or certificate is a CaError', async () => {
    await expectCaError(() => verifyTaskCert(good, 'not a pem'), 'AGENTDB_ERR_CA_BAD_CERT');
    const broken: TaskCertificate = { ...good, der: Buffer.from('nonsense') };
    await expectCaError(() => verifyTaskCert(broken, user.certPem), 'AGENTDB_ERR_CA_BAD_CERT');
    expect(await verifyTaskCert(good, user.certPem)).toBe('ok'); // the cache recovered from the bad CA
  });
});
