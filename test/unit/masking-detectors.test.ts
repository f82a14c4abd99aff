import { describe, expect, test } from 'vitest';
import { ContentScanner, DETECTOR_KINDS } from '../../src/masking/index.js';

const all = new ContentScanner(DETECTOR_KINDS);

describe('true positives: each match is replaced inside the value', () => {
  test.each([
    ['mail alice.smith+tag@example.co.uk now', 'mail [email] now'],
    ['a@b.io, c.d@e-f.org', '[email], [email]'],
    ['"email":"bob@example.com"', '"email":"[email]"'],
  ])('email: %s', (input, out) => expect(all.scan(input)).toBe(out));

  test.each([
    ['4111111111111111', '[card]'],
    ['card 4111 1111 1111 1111 exp 12/29', 'card [card] exp 12/29'],
    ['4111-1111-1111-1111', '[card]'],
    ['amex 378282246310005', 'amex [card]'],
    ['5555555555554444', '[card]'],
    ['6011111111111117', '[card]'],
    ['qty 5 4111 1111 1111 1111', 'qty 5 [card]'],
    ['order 4111111111111111 2', 'order [card] 2'],
  ])('card: %s', (input, out) => expect(all.scan(input)).toBe(out));

  test.each([
    ['ssn 123-45-6789.', 'ssn [ssn].'],
    ['123-45-6789', '[ssn]'],
  ])('ssn: %s', (input, out) => expect(all.scan(input)).toBe(out));

  test.each([
    ['call +1 415 555 2671', 'call [phone]'],
    ['+14155552671', '[phone]'],
    ['(415) 555-2671', '[phone]'],
    ['415-555-2671 or 415.555.2671', '[phone] or [phone]'],
    ['+44 20 7946 0958', '[phone]'],
    ['+49 (0)30 1234567', '[phone]'],
    ['Tel 030 1234567', 'Tel [phone]'],
    ['06 12 34 56 78', '[phone]'],
  ])('phone: %s', (input, out) => expect(all.scan(input)).toBe(out));

  test.each([
    ['DE89 3704 0044 0532 0130 00', '[iban]'],
    ['pay to DE89370400440532013000 today', 'pay to [iban] today'],
    ['GB82WEST12345698765432', '[iban]'],
    ['FR1420041010050500013M02606', '[iban]'],
  ])('iban: %s', (input, out) => expect(all.scan(input)).toBe(out));

  test.each([
    ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', '[secret]'],
    ['key=sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'key=[secret]'],
    ['sk_test_4eC39HqLyjWDarjtT1zdp7dc', '[secret]'],
    ['ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789', '[secret]'],
    ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstu', '[secret]'],
    ['xoxb-123456789012-abcdefghij', '[secret]'],
    ['aws AKIAIOSFODNN7EXAMPLE', 'aws [secret]'],
    ['AIzaSyA1234567890abcdefghijklmnopqrstuv', '[secret]'],
    ['Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345', 'Authorization: [secret]'],
    ['sk-proj-abcdefghijklmnopqrstuvwxyz12', '[secret]'],
    ['password=hunter2hunter2', 'password=[secret]'],
    ['{"api_key": "abcd1234efgh5678"}', '{"api_key": "[secret]"}'],
    [`-----BEGIN RSA ${'PRIVATE'} KEY-----\nMIIEow\nabc\n-----END RSA ${'PRIVATE'} KEY-----`, '[secret]'],
  ])('secret: %s', (input, out) => expect(all.scan(input)).toBe(out));
});

describe('false positives: ordinary values are left alone', () => {
  test.each([
    '2024-01-15 10:30:00',
    '2024-01-15T10:30:00.123456Z',
    '12.05.2024 14:00',
    '2024/01/15',
    'ts 1700000000000',
    'serial 20240115123456',
    '123e4567-e89b-12d3-a456-426614174000',
    '$1,234.56',
    '1234.56',
    'price 19.99 EUR',
    '3.14159265358979323846',
    'ORD-2024-000123',
    'INV-20240115-0042',
    'order 98765432',
    'id 1234567890123456',
    'ORD4111111111111111',
    '4111111111111112',
    'tracking 1Z999AA10123456784',
    'zip 94107-1234',
    'ticket #123456789',
    'v1.2.3',
    '192.168.100.200',
    '1 234 567',
    'Tel. 5551234',
    'DE-12345',
    'sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'md5 d41d8cd98f00b204e9800998ecf8427e',
    'the token is expired',
    'user@localhost',
    'x@y',
    '000-12-3456',
    '666-12-3456',
    '912-12-3456',
    '123-00-6789',
    '123-45-0000',
  ])('%s', (value) => expect(all.scan(value)).toBe(value));

  test('an IBAN with a wrong check digit is no IBAN', () => {
    expect(all.scan('DE89 3704 0044 0532 0130 01')).not.toContain('[iban]');
  });
});

describe('the scanner', () => {
  test('returns the very same string when nothing matched', () => {
    const s = 'plain text, nothing to see 12';
    expect(Object.is(all.scan(s), s)).toBe(true);
  });

  test('runs only the detectors it was built with', () => {
    const emailOnly = new ContentScanner(['email']);
    expect(emailOnly.scan('a@example.com 123-45-6789')).toBe('[email] 123-45-6789');
    const none = new ContentScanner([]);
    expect(none.scan('a@example.com')).toBe('a@example.com');
    expect([...new ContentScanner(['ssn', 'nonsense' as never]).kinds]).toEqual(['ssn']);
  });

  test('tags never match again: scanning twice changes nothing more', () => {
    const once = all.scan('a@b.io 4111111111111111 123-45-6789 +1 415 555 2671 DE89370400440532013000 AKIAIOSFODNN7EXAMPLE');
    expect(once).toBe('[email] [card] [ssn] [phone] [iban] [secret]');
    expect(all.scan(once)).toBe(once);
  });

  test('long hostile inputs finish quickly (no catastrophic backtracking)', () => {
    const inputs = [
      'a'.repeat(200_000) + '@',
      '1'.repeat(200_000),
      '1 '.repeat(100_000),
      'a.'.repeat(100_000) + '@example.com',
      '+1' + ' 2'.repeat(100_000),
      'DE89' + ' ABCD'.repeat(50_000),
      'eyJ' + 'a'.repeat(200_000),
      'password=' + 'x'.repeat(200_000),
    ];
    for (const input of inputs) {
      const t0 = performance.now();
      all.scan(input);
      expect(performance.now() - t0, input.slice(0, 20)).toBeLessThan(1500);
    }
  });
});
