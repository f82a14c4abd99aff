// Content detectors: masking by what a value looks like, whatever column it came from. They back up the
// provenance analysis (a secret pasted into a free-text note) and never replace it: a token the patterns do
// not know passes them, which is why masked columns are masked by origin.
//
// Built once per policy and called on every text value of every result, so the common case — a value with
// nothing in it — costs one loop over its characters: each detector has a precondition (enough digits, an
// '@', a character its shapes need) checked before any regex runs, and a non-global probe before a replace. Each match is replaced inside the value by a tag ('[email]', '[card]',
// ...): tags hold no digit, '@', quote, comma, brace or backslash, so no detector matches a tag, and a tag
// inside JSON strings, array literals, records or COPY rows keeps them well-formed.
import { ibanValid, luhnValid } from './checksums.js';
import { DETECTOR_KINDS, type DetectorKind } from './config.js';

/** What a match is replaced with. */
export const DETECTOR_TAGS: Readonly<Record<DetectorKind, string>> = {
  email: '[email]',
  card: '[card]',
  ssn: '[ssn]',
  phone: '[phone]',
  iban: '[iban]',
  secret: '[secret]',
};

/** Cheap facts about a value, counted once, that rule detectors out before any regex runs. */
interface Facts {
  digits: number;
  dash: boolean;
  at: boolean;
  upper: boolean;
  /** a character every secret shape needs: J (eyJ), _, -, A (AKIA, AIza), B (Bearer) */
  shapeish: boolean;
  /** ':' or '=', which a secret assignment (password=...) needs */
  assignish: boolean;
  /**
   * The most digits in one run where only separators (space - . ( ) +) may stand between them; a letter ends
   * the run. Cards, SSNs and phone numbers each need a long one; hex digests (md5, UUIDs) never have one.
   */
  run: number;
}

/** A detector pass: the rewritten text, or undefined when nothing in it matched. */
type Pass = (text: string, facts: Facts) => string | undefined;

/** A non-global twin of a global regex, for a test() that leaves no lastIndex behind. */
function probe(re: RegExp): RegExp {
  return new RegExp(re.source, re.flags.replace('g', ''));
}

// ---- email

const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;

const EMAIL_PROBE = probe(EMAIL);

const emailPass: Pass = (text, facts) => {
  if (!facts.at || !EMAIL_PROBE.test(text)) return undefined;
  return replaceAll(text, EMAIL, () => DETECTOR_TAGS.email);
};

// ---- payment card: 13-19 digits, Luhn-valid, a card brand's first digit (2-6)

// A run of digits joined by single spaces or dashes, not glued to a word or a decimal point: 'ORD4111...' and
// '3.14159...' are not cards. The run is cut into candidates below, since a card can sit next to another number.
const DIGIT_RUN = /(?<![\w.])\d(?:[ -]?\d)*(?![\w]|\.\d)/g;

const cardPass: Pass = (text, facts) => (facts.run < 13 ? undefined : replaceAll(text, DIGIT_RUN, maskCardsInRun));

function maskCardsInRun(run: string): string | undefined {
  const compact = run.replace(/[ -]/g, '');
  if (compact.length < 13) return undefined;
  if (isCard(compact)) return DETECTOR_TAGS.card;
  // '4111 1111 1111 1111 2' or 'qty 5 4111...': look for a window of whole groups that is a card, as long as
  // its groups are card-like (3-6 digits, one kind of separator) or a single group of 13-19 digits.
  const groups = run.split(/([ -])/);
  let out = '';
  let changed = false;
  let i = 0;
  while (i < groups.length) {
    const end = cardWindowEnd(groups, i);
    if (end > i) {
      out += DETECTOR_TAGS.card;
      changed = true;
      if (end < groups.length) out += groups[end]!;
      i = end + 1;
    } else {
      out += groups[i]!;
      if (i + 1 < groups.length) out += groups[i + 1]!;
      i += 2;
    }
  }
  return changed ? out : undefined;
}

/**
 * groups alternates digits and separators: [d, sep, d, sep, d]. Returns the index after the last digit group
 * of the longest card window starting at i (a separator index or groups.length), or i when there is none.
 */
function cardWindowEnd(groups: string[], i: number): number {
  const first = groups[i]!;
  if (first.length >= 13 && first.length <= 19 && isCard(first)) return i + 1;
  if (first.length < 3 || first.length > 6) return i;
  let digits = first;
  let best = i;
  const sep = groups[i + 1];
  for (let j = i + 2; j < groups.length; j += 2) {
    const g = groups[j]!;
    if (groups[j - 1] !== sep || g.length > 6) break;
    digits += g;
    if (digits.length > 19) break;
    if (digits.length >= 13 && isCard(digits)) best = j + 1;
    if (g.length < 3) break;
  }
  return best;
}

/** Luhn-valid, and a length a card brand with that first digit issues (IIN ranges, roughly). */
function isCard(digits: string): boolean {
  const n = digits.length;
  const two = Number(digits.slice(0, 2));
  let lengthOk: boolean;
  switch (digits[0]) {
    case '4': // Visa
      lengthOk = n === 13 || n === 16 || n === 19;
      break;
    case '2': // Mastercard 2221-2720
    case '5': // Mastercard 51-55; Maestro 50, 56-58
      lengthOk = two >= 51 && two <= 55 ? n === 16 : digits[0] === '2' ? n === 16 : n >= 12;
      break;
    case '3': // Amex 34/37: 15; JCB 35: 16-19; Diners 30/36/38/39: 14-19
      lengthOk = two === 34 || two === 37 ? n === 15 : two === 35 ? n >= 16 : n >= 14;
      break;
    case '6': // Discover, UnionPay, Maestro
      lengthOk = n >= 16 || (n >= 12 && (two === 63 || two === 67));
      break;
    default:
      return false;
  }
  return lengthOk && luhnValid(digits);
}

// ---- US social security number: ddd-dd-dddd without the never-issued areas 000, 666 and 9xx

const SSN = /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g;

const SSN_PROBE = probe(SSN);

const ssnPass: Pass = (text, facts) =>
  facts.run < 9 || !facts.dash || !SSN_PROBE.test(text) ? undefined : replaceAll(text, SSN, () => DETECTOR_TAGS.ssn);

// ---- phone numbers: a leading + or separators in the places phone numbers have them, never a bare run of
// digits (order ids, amounts, timestamps)

const PHONE = new RegExp(
  [
    // E.164 and international: +country then groups, 8-15 digits in all (checked below)
    String.raw`(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){1,6}`,
    // NANP: (415) 555-2671, 415-555-2671, 415.555.2671, 415 555 2671
    String.raw`(?<![\w+(.-]|\d[ .-])(?:\([2-9]\d\d\)[ .-]?|[2-9]\d\d[ .-])\d{3}[ .-]\d{4}`,
    // European national numbers with a trunk 0: 030 1234567, 06 12 34 56 78, (030) 123-4567, 020 7946 0958
    String.raw`(?<![\w+(./-]|\d[ /-])(?:\(0[1-9]\d{0,3}\)|0[1-9]\d{0,3})[ /-]\d{2,8}(?:[ -]\d{2,4}){0,4}`,
  ]
    .map((p) => `(?:${p})`)
    .join('|') + String.raw`(?![\w]|[-./]\d)`,
  'g',
);

const PHONE_PROBE = probe(PHONE);

const phonePass: Pass = (text, facts) =>
  facts.run < 8 || !PHONE_PROBE.test(text)
    ? undefined
    : replaceAll(text, PHONE, (m) => {
    const digits = countDigits(m);
    if (m.charCodeAt(0) === 43 /* + */) return digits >= 8 && digits <= 15 ? DETECTOR_TAGS.phone : undefined;
    return digits >= 9 && digits <= 12 ? DETECTOR_TAGS.phone : undefined;
      });

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

// ---- IBAN: country code, check digits, up to 30 letters/digits in groups of four (spaces optional), mod 97

const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g;

const IBAN_PROBE = probe(IBAN);

const ibanPass: Pass = (text, facts) =>
  facts.digits < 4 || !facts.upper || text.length < 15 || !IBAN_PROBE.test(text)
    ? undefined
    : replaceAll(text, IBAN, (m) => {
        const compact = m.replace(/ /g, '');
        return ibanValid(compact) ? DETECTOR_TAGS.iban : undefined;
      });

// ---- secrets: tokens with a known shape, and values assigned to a key that names a secret

const SECRET_SHAPES = new RegExp(
  [
    // JWT / JWS: three base64url parts, the header starts with '{"' (eyJ)
    String.raw`(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`,
    // Stripe secret and restricted keys
    String.raw`\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}`,
    // OpenAI / Anthropic style keys
    String.raw`\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}`,
    // GitHub tokens
    String.raw`\bgh[pousr]_[A-Za-z0-9]{36,}`,
    String.raw`\bgithub_pat_[A-Za-z0-9_]{22,}`,
    // Slack
    String.raw`\bxox[abprs]-[A-Za-z0-9-]{10,}`,
    // AWS access key ids
    String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
    // Google API keys
    String.raw`\bAIza[0-9A-Za-z_-]{35}`,
    // HTTP bearer tokens
    String.raw`\bBearer\s+[A-Za-z0-9._~+/-]{20,}=*`,
    // PEM private keys
    String.raw`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`,
  ]
    .map((p) => `(?:${p})`)
    .join('|'),
  'g',
);

// password=..., "api_key": "...", token: ... — only the value is replaced, the key stays readable.
const SECRET_ASSIGNMENT =
  /(\b(?:api[_-]?key|api[_-]?secret|secret(?:[_-]?key)?|access[_-]?key|auth[_-]?token|token|passw(?:or)?d|pwd)["']?\s*[:=]\s*["']?)([A-Za-z0-9._~+/=!#$%^&*-]{8,})/gi;

// Case-sensitive, as the shapes are: cheap enough to run on every value with a dash or an underscore.
const SECRET_SHAPE_TRIGGER = /eyJ|[sr]k[-_]|gh[pousr]_|github_pat_|xox[abprs]-|A[KS]IA|AIza|Bearer|-----BEGIN/;
const SECRET_SHAPES_PROBE = probe(SECRET_SHAPES);
const SECRET_ASSIGNMENT_PROBE = probe(SECRET_ASSIGNMENT);

const secretPass: Pass = (text, facts) => {
  const shaped =
    facts.shapeish && SECRET_SHAPE_TRIGGER.test(text) && SECRET_SHAPES_PROBE.test(text)
      ? replaceAll(text, SECRET_SHAPES, () => DETECTOR_TAGS.secret)
      : undefined;
  const base = shaped ?? text;
  if (!facts.assignish || !SECRET_ASSIGNMENT_PROBE.test(base)) return shaped;
  let changed = false;
  const assigned = base.replace(SECRET_ASSIGNMENT, (m, key: string, value: string) => {
    if (value === DETECTOR_TAGS.secret) return m;
    changed = true;
    return key + DETECTOR_TAGS.secret;
  });
  return changed ? assigned : shaped;
};

// ---- the scanner

// Order matters: secrets and emails first (they contain digit runs the number detectors would cut up), IBAN
// before card (its digits), SSN before phone.
const PASSES: readonly [DetectorKind, Pass][] = [
  ['secret', secretPass],
  ['email', emailPass],
  ['iban', ibanPass],
  ['card', cardPass],
  ['ssn', ssnPass],
  ['phone', phonePass],
];

export class ContentScanner {
  readonly kinds: ReadonlySet<DetectorKind>;
  private readonly passes: readonly Pass[];

  constructor(kinds: Iterable<DetectorKind>) {
    const set = new Set<DetectorKind>();
    for (const k of kinds) if ((DETECTOR_KINDS as readonly string[]).includes(k)) set.add(k);
    this.kinds = set;
    this.passes = PASSES.filter(([k]) => set.has(k)).map(([, p]) => p);
  }

  /**
   * Whether bytes of UTF-8 text could hold anything a detector looks for, decided on the bytes without decoding
   * them (the same test scan() starts with). False means scan() would return the text unchanged. Bytes outside
   * ASCII count as "could" (decoding them is the only safe way to know).
   */
  mayMatch(buf: Buffer, start: number, end: number): boolean {
    if (this.passes.length === 0) return false;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      // digits, '@', ':', '=', '_', '-', 'J', 'A', 'B', and anything not ASCII
      if ((c >= 48 && c <= 58) || c === 64 || c === 61 || c === 95 || c === 45 || c === 74 || c === 65 || c === 66 || c >= 128) return true;
    }
    return false;
  }

  /** The value with every match replaced by its tag; the very same string when nothing matched. */
  scan(text: string): string {
    if (this.passes.length === 0) return text;
    // One loop over the characters rules most values out: no digit, no '@', nothing a secret needs.
    const facts = countFacts(text);
    if (facts.digits === 0 && !facts.at && !facts.shapeish && !facts.assignish) return text;
    let out = text;
    for (const pass of this.passes) {
      const r = pass(out, facts);
      if (r !== undefined) out = r;
    }
    return out;
  }
}

function countFacts(text: string): Facts {
  let run = 0;
  let longest = 0;
  let digits = 0;
  let dash = false;
  let at = false;
  let upper = false;
  let shapeish = false;
  let assignish = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      if (++run > longest) longest = run;
      continue;
    }
    // A separator keeps the run going; anything else ends it.
    if (c !== 32 && c !== 45 && c !== 46 && c !== 40 && c !== 41 && c !== 43) run = 0;
    if (c >= 65 && c <= 90) {
      upper = true;
      if (c === 74 /* J */ || c === 65 /* A */ || c === 66 /* B */) shapeish = true;
    } else if (c === 45) dash = shapeish = true;
    else if (c === 64) at = true;
    else if (c === 95 /* _ */) shapeish = true;
    else if (c === 58 /* : */ || c === 61 /* = */) assignish = true;
  }
  return { digits, dash, at, upper, shapeish, assignish, run: longest };
}

/** String.replace with a replacer that may decline a match (undefined keeps it); undefined when nothing changed. */
function replaceAll(text: string, re: RegExp, replacer: (match: string) => string | undefined): string | undefined {
  let changed = false;
  const out = text.replace(re, (m: string) => {
    const r = replacer(m);
    if (r === undefined) return m;
    changed = true;
    return r;
  });
  return changed ? out : undefined;
}
