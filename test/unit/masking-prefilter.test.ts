// The byte prefilter must never skip a value the scanner would change.
import { describe, expect, test } from 'vitest';
import { ContentScanner, DETECTOR_KINDS } from '../../src/masking/index.js';

const scanner = new ContentScanner(DETECTOR_KINDS);
const ALPHABET = 'abcdefxyz ABJ019@:=_-+().,/\'"\n\té€';

function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('ContentScanner.mayMatch', () => {
  test('known values: skips plain words and hex-free text, keeps everything that could match', () => {
    for (const s of ['hello world', 'aaaaaaaaaaaaaaaa', 'no digits here']) expect(scanner.mayMatch(Buffer.from(s), 0, Buffer.byteLength(s))).toBe(false);
    for (const s of ['bob@example.com', '4111 1111 1111 1111', '123-45-6789', 'password=hunter2hunter2', 'eyJhbGciOiJIUzI1NiJ9.e30.x', 'café 3']) {
      expect(scanner.mayMatch(Buffer.from(s), 0, Buffer.byteLength(s))).toBe(true);
    }
  });

  test('never says no to a value scan() would change (20,000 random values)', () => {
    const rnd = random(7);
    for (let n = 0; n < 20_000; n++) {
      let s = '';
      const len = Math.floor(rnd() * 40);
      for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
      const b = Buffer.from(s, 'utf8');
      if (!scanner.mayMatch(b, 0, b.length)) expect(scanner.scan(s)).toBe(s);
    }
  });
});
