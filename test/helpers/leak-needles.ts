// What a leaked sensitive value can look like in bytes, and a search for all of it. A value can leave the
// gateway as it is, in another case (upper(), lower(), translate()), reversed, hex-encoded (bytea output,
// encode(..., 'hex')), base64-encoded at any alignment, as its md5, or cut short (substr() drops the token's
// first letters but keeps the rest). Each value gets a needle for each of those forms; the search is
// case-insensitive, which also covers upper- and lower-case hex digits.
import { createHash } from 'node:crypto';

export interface Needle {
  /** lower-cased, as searched */
  text: string;
  /** what it is, for a failure message: 'hex of "LEAKTOKEN-SSN-0001"' */
  what: string;
}

export interface LeakHit {
  needle: Needle;
  offset: number;
  /** the bytes around the hit, printable */
  context: string;
}

/** Values of the form PREFIX-KIND-NNNN (an email domain may follow) found in `texts`, for each prefix. */
export function plantedValues(prefixes: readonly string[], texts: readonly string[]): string[] {
  const found = new Set<string>();
  for (const prefix of prefixes) {
    const re = new RegExp(`${escapeRegExp(prefix)}-[A-Za-z]+-\\d+(?:@[A-Za-z0-9.-]+)?`, 'g');
    for (const t of texts) for (const m of t.matchAll(re)) found.add(m[0]);
  }
  return [...found].sort();
}

/**
 * Needles for the bare prefixes (tokens) and the whole planted values. For a planted value, its part after the
 * prefix up to an email's '@' is a needle of its own ('SSN-0001'), so a value cut short is still found.
 */
export function leakNeedles(prefixes: readonly string[], values: readonly string[]): Needle[] {
  const needles = new Map<string, Needle>();
  const add = (text: string, what: string) => {
    const key = text.toLowerCase();
    if (key.length >= 6 && !needles.has(key)) needles.set(key, { text: key, what });
  };
  const forms = (v: string, whole: boolean) => {
    add(v, `"${v}"`);
    add([...v].reverse().join(''), `"${v}" reversed`);
    add(Buffer.from(v).toString('hex'), `hex of "${v}"`);
    add(Buffer.from(v.toLowerCase()).toString('hex'), `hex of "${v.toLowerCase()}"`);
    add(Buffer.from(v.toUpperCase()).toString('hex'), `hex of "${v.toUpperCase()}"`);
    for (const b64 of base64Alignments(Buffer.from(v))) add(b64, `base64 of "${v}"`);
    if (whole) add(createHash('md5').update(v).digest('hex'), `md5 of "${v}"`);
  };
  for (const p of prefixes) forms(p, false);
  for (const v of values) {
    forms(v, true);
    const prefix = prefixes.find((p) => v.startsWith(`${p}-`));
    if (prefix) forms(v.slice(prefix.length + 1).split('@')[0]!, false);
  }
  return [...needles.values()];
}

/** Every needle found in `haystack`, with where and what surrounds it. */
export function findLeaks(haystack: Buffer | string, needles: readonly Needle[]): LeakHit[] {
  // latin1 maps each byte to one character: offsets stay byte offsets, and no byte sequence fails to decode.
  const raw = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
  const text = raw.toLowerCase();
  const hits: LeakHit[] = [];
  for (const needle of needles) {
    const at = text.indexOf(needle.text);
    if (at < 0) continue;
    const context = JSON.stringify(raw.slice(Math.max(0, at - 40), at + needle.text.length + 40));
    hits.push({ needle, offset: at, context });
  }
  return hits;
}

/** One line per hit, for a failure message. */
export function describeHits(where: string, hits: readonly LeakHit[]): string[] {
  return hits.map((h) => `${where}: ${h.needle.what} at byte ${h.offset}: ${h.context}`);
}

/**
 * The base64 of `bytes` as it shows up inside a longer encoded string: the text encoded starts 0, 1 or 2 bytes
 * into a 3-byte group, and only groups made wholly of these bytes are the same whatever surrounds them.
 */
function base64Alignments(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let skip = 0; skip < 3; skip++) {
    const groups = Math.floor((bytes.length - skip) / 3);
    if (groups >= 2) out.push(bytes.subarray(skip, skip + groups * 3).toString('base64'));
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
