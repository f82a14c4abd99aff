// The small DER codec behind issuance, checked against fixed vectors and against OpenSSL (node:crypto).
import { X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { signCertificate } from '../../src/ca/certificate-der.js';
import { objectIdentifier, readChildren, readTlv, readUtf8String, readWhole, TAG, time, tlv, unsignedInteger, utf8String } from '../../src/ca/der.js';
import { generateP256, spkiDer } from '../../src/ca/p256.js';
import { pemDecode, pemEncode } from '../../src/ca/pem.js';
import { commonNameDer } from '../../src/ca/subject-name.js';
import { expectCaError } from './ca-fixtures.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

describe('DER writer', () => {
  test('lengths: short form up to 127, then the shortest long form', () => {
    expect(hex(tlv(0x04, new Uint8Array(0)))).toBe('0400');
    expect(hex(tlv(0x04, new Uint8Array(127))).slice(0, 4)).toBe('047f');
    expect(hex(tlv(0x04, new Uint8Array(128))).slice(0, 6)).toBe('048180');
    expect(hex(tlv(0x04, new Uint8Array(255))).slice(0, 6)).toBe('0481ff');
    expect(hex(tlv(0x04, new Uint8Array(256))).slice(0, 8)).toBe('04820100');
    expect(hex(tlv(0x04, new Uint8Array(65536))).slice(0, 10)).toBe('0483010000');
  });

  test('non-negative integers: minimal, with a sign byte when the top bit is set', () => {
    expect(hex(unsignedInteger(bytes('00 7f')))).toBe('02017f');
    expect(hex(unsignedInteger(bytes('80')))).toBe('02020080');
    expect(hex(unsignedInteger(bytes('00 00 00')))).toBe('020100');
    expect(hex(unsignedInteger(bytes('00 00 80 01')))).toBe('0203008001');
  });

  test('OIDs, including arcs far wider than 53 bits', () => {
    expect(hex(objectIdentifier('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(objectIdentifier('2.5.29.19'))).toBe('0603551d13');
    // X.667's example UUID OID, DER computed independently
    expect(hex(objectIdentifier('2.25.329800735698586629295641978511506172918'))).toBe('06146983f09da7ebcfdee0c7a1a7b2c0948cc8f9d776');
    for (const bad of ['', '1', '3.1', '1.02', '1.2.', 'a.b']) expect(() => objectIdentifier(bad)).toThrow();
  });

  test('times: UTCTime through 2049, GeneralizedTime from 2050, whole seconds in UTC', () => {
    expect(Buffer.from(time(new Date('2049-12-31T23:59:59.999Z')).subarray(2)).toString()).toBe('491231235959Z');
    expect(time(new Date('2049-12-31T23:59:59Z'))[0]).toBe(TAG.utcTime);
    expect(Buffer.from(time(new Date('2050-01-01T00:00:00Z')).subarray(2)).toString()).toBe('20500101000000Z');
    expect(time(new Date('2050-01-01T00:00:00Z'))[0]).toBe(TAG.generalizedTime);
    expect(Buffer.from(time(new Date('1999-03-04T05:06:07Z')).subarray(2)).toString()).toBe('990304050607Z');
  });

  test('OpenSSL reads a signed certificate back, dates on both sides of 2050 included', async () => {
    const issuer = await generateP256();
    const subject = await generateP256();
    const notBefore = new Date('2049-06-01T12:00:00Z');
    const notAfter = new Date('2051-06-01T12:00:00.500Z');
    const signed = signCertificate(
      { issuer: commonNameDer('issuer'), subject: commonNameDer('subject'), spki: spkiDer(subject.publicKey), notBefore, notAfter, extensions: [] },
      issuer.privateKey,
    );
    const cert = new X509Certificate(signed.der);
    expect(cert.subject).toBe('CN=subject');
    expect(cert.issuer).toBe('CN=issuer');
    expect(new Date(cert.validFrom).toISOString()).toBe('2049-06-01T12:00:00.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2051-06-01T12:00:00.000Z');
    expect(signed.notAfter.toISOString()).toBe('2051-06-01T12:00:00.000Z');
    expect(cert.serialNumber.toLowerCase()).toBe(signed.serial);
    expect(cert.verify(issuer.publicKey)).toBe(true);
    expect(cert.verify(subject.publicKey)).toBe(false);
  });
});

describe('DER reader', () => {
  test('reads nested structures', () => {
    const der = tlv(TAG.sequence, utf8String('a'), utf8String('bc'));
    const children = readChildren(der, readWhole(der, TAG.sequence));
    expect(children.map((c) => c.end - c.contentStart)).toEqual([1, 2]);
    expect(readUtf8String(utf8String('ünïcødé 🚀'))).toBe('ünïcødé 🚀');
    const long = 'x'.repeat(300);
    expect(readUtf8String(utf8String(long))).toBe(long);
  });

  test('refuses anything that is not strict DER', async () => {
    const malformed = [
      '30', // truncated header
      '3080 0000', // indefinite length
      '308105 0403616263', // long form where the short one fits
      '30820005 0403616263', // leading zero in the length
      '3085 0000000003 040161', // length of five bytes
      '3005 0403616263 00', // trailing byte
      '3006 0403616263', // content shorter than its length
      '1f2200', // high tag number
      '3003 0405616263', // child longer than its parent
    ];
    for (const text of malformed) {
      await expectCaError(() => {
        const der = bytes(text);
        readChildren(der, readWhole(der, TAG.sequence));
      }, 'AGENTDB_ERR_CA_BAD_DER');
    }
    await expectCaError(() => readWhole(bytes('0400'), TAG.sequence), 'AGENTDB_ERR_CA_BAD_DER');
    await expectCaError(() => readUtf8String(bytes('0c02c328')), 'AGENTDB_ERR_CA_BAD_DER'); // invalid UTF-8
    expect(readTlv(bytes('0400 0401ff'), 2).end).toBe(5);
  });
});

describe('PEM', () => {
  test('round trip with 64-character lines; damaged blocks and wrong labels are refused', async () => {
    const der = new Uint8Array(200).map((_, i) => i);
    const pem = pemEncode(der, 'CERTIFICATE');
    expect(pem.split('\n').slice(1, -3).every((line) => line.length === 64)).toBe(true);
    expect(hex(pemDecode(pem, ['CERTIFICATE'], 'certificate', 'AGENTDB_ERR_CA_TEST'))).toBe(hex(der));
    expect(hex(pemDecode(`junk before\r\n${pem.replace(/\n/g, '\r\n')}junk after`, ['CERTIFICATE'], 'certificate', 'AGENTDB_ERR_CA_TEST'))).toBe(hex(der));
    await expectCaError(() => pemDecode(pem, ['CERTIFICATE REQUEST'], 'request', 'AGENTDB_ERR_CA_TEST'), 'AGENTDB_ERR_CA_TEST');
    await expectCaError(() => pemDecode(pem.replace(/\n./, '\n*'), ['CERTIFICATE'], 'certificate', 'AGENTDB_ERR_CA_TEST'), 'AGENTDB_ERR_CA_TEST');
    await expectCaError(() => pemDecode(pem.slice(0, 100), ['CERTIFICATE'], 'certificate', 'AGENTDB_ERR_CA_TEST'), 'AGENTDB_ERR_CA_TEST');
  });
});
