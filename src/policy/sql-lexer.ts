// PostgreSQL's lexical rules, over the UTF-8 bytes of a statement: where a comment, a quoted string or name,
// a dollar-quoted body, a number or a name that starts at some byte ends. The one place the project scans
// SQL text without the parser: masking finds the end of a literal the parser located (sql-literals.ts), the
// analyzer finds the numeric literals statements can differ in (numeric-template.ts). Every delimiter is
// ASCII, so multi-byte UTF-8 characters never confuse it; offsets are bytes, as the parser's locations are.

export const QUOTE = 0x27;
export const DOUBLE_QUOTE = 0x22;
export const DOLLAR = 0x24;
const BACKSLASH = 0x5c;

export function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && (isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

const isOctal = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x37;
const isBinary = (c: number | undefined): boolean => c === 0x30 || c === 0x31;

/** ASCII letters, underscore and every byte of a multi-byte character start a name (scan.l's ident_start). */
export function isIdentStart(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80);
}

export function isIdentChar(c: number | undefined): boolean {
  return isIdentStart(c) || isDigit(c) || c === DOLLAR;
}

/** B'', X'', N'' (E'' is handled apart for its backslash escapes) */
export function isPrefixLetter(c: number): boolean {
  return c === 0x42 || c === 0x62 || c === 0x58 || c === 0x78 || c === 0x4e || c === 0x6e;
}

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b;
}

/** One past the string whose opening quote is at `quote` (see scanString); the text's end when unclosed. */
export function stringEnd(sql: Buffer, quote: number, backslashEscapes: boolean): number {
  return scanString(sql, quote, backslashEscapes).end;
}

/**
 * The string whose opening quote is at `quote`, continuations included ('abc' then whitespace holding a
 * newline then 'def' is one literal, and keeps E'' escapes): one past it, whether it was closed before the
 * text ended, and whether it was continued.
 */
export function scanString(sql: Buffer, quote: number, backslashEscapes: boolean): { end: number; closed: boolean; continued: boolean } {
  let i = quote + 1;
  let continued = false;
  for (;;) {
    if (i >= sql.length) return { end: sql.length, closed: false, continued };
    const c = sql[i]!;
    if (c === BACKSLASH && backslashEscapes) {
      i += 2;
      continue;
    }
    if (c !== QUOTE) {
      i++;
      continue;
    }
    if (sql[i + 1] === QUOTE) {
      i += 2;
      continue;
    }
    let j = i + 1;
    let newline = false;
    while (j < sql.length && isSpace(sql[j]!)) {
      if (sql[j] === 0x0a || sql[j] === 0x0d) newline = true;
      j++;
    }
    if (newline && sql[j] === QUOTE) {
      continued = true;
      i = j + 1;
      continue;
    }
    return { end: i + 1, closed: true, continued };
  }
}

/** $tag$ ... $tag$ starting at `start`; undefined when no valid opening tag is there, the text's end when unclosed. */
export function dollarEnd(sql: Buffer, start: number): number | undefined {
  let i = start + 1;
  if (sql[i] !== DOLLAR) {
    if (!isIdentStart(sql[i])) return undefined;
    while (i < sql.length && isIdentChar(sql[i]!) && sql[i] !== DOLLAR) i++;
    if (sql[i] !== DOLLAR) return undefined;
  }
  const tag = sql.subarray(start, i + 1);
  const close = sql.indexOf(tag, i + 1);
  return close < 0 ? sql.length : close + tag.length;
}

/** Digits of one kind, with PostgreSQL 16's single underscores between them (1_000_000). */
function digitsOf(sql: Buffer, start: number, digit: (c: number | undefined) => boolean): number {
  let i = start;
  while (i < sql.length) {
    if (digit(sql[i])) i++;
    else if (sql[i] === 0x5f && i > start && digit(sql[i - 1]) && digit(sql[i + 1])) i++;
    else break;
  }
  return i;
}

/** One past the number at `start` (a digit, or a dot before one), and whether it is an integer. */
export function scanNumber(sql: Buffer, start: number): { end: number; integer: boolean } {
  const x = (sql[start + 1] ?? 0) | 0x20;
  if (sql[start] === 0x30 && (x === 0x78 || x === 0x6f || x === 0x62) /* 0x 0o 0b */) {
    const digit = x === 0x78 ? isHex : x === 0x6f ? isOctal : isBinary;
    // PostgreSQL 16 also takes one underscore right after the prefix: 0x_ff.
    const first = sql[start + 2] === 0x5f && digit(sql[start + 3]) ? start + 3 : start + 2;
    const end = digitsOf(sql, first, digit);
    // `0x` with no digits: the number is the 0 (and a name follows it).
    return { end: end === start + 2 ? start + 1 : end, integer: true };
  }
  let i = digitsOf(sql, start, isDigit);
  let integer = true;
  if (sql[i] === 0x2e /* . */ && sql[i + 1] !== 0x2e) {
    integer = false;
    i = digitsOf(sql, i + 1, isDigit);
  }
  if ((sql[i] === 0x65 || sql[i] === 0x45) /* e */) {
    const sign = sql[i + 1] === 0x2b || sql[i + 1] === 0x2d ? 1 : 0;
    if (isDigit(sql[i + 1 + sign])) {
      integer = false;
      i = digitsOf(sql, i + 1 + sign, isDigit);
    }
  }
  return { end: i, integer };
}

export function numberEnd(sql: Buffer, start: number): number {
  return scanNumber(sql, start).end;
}

export function digitsEnd(sql: Buffer, start: number): number {
  let i = start;
  while (i < sql.length && isDigit(sql[i])) i++;
  return i;
}

export function identEnd(sql: Buffer, start: number): number {
  let i = start + 1;
  while (i < sql.length && isIdentChar(sql[i]!)) i++;
  return i;
}

/** One past a quoted name ("...", "" inside); the text's end when unclosed. */
export function quotedEnd(sql: Buffer, start: number, q: number): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** Is a comment starting at `i`? */
export function isCommentStart(sql: Buffer, i: number): boolean {
  return (sql[i] === 0x2d && sql[i + 1] === 0x2d) || (sql[i] === 0x2f && sql[i + 1] === 0x2a);
}

/** One past the comment at `start` (-- to the end of the line, or a nesting block comment); the text's end when unclosed. */
export function skipComment(sql: Buffer, start: number): number {
  if (sql[start] === 0x2d) {
    // A line comment ends at a newline or a carriage return, as in scan.l (non_newline is [^\n\r]).
    for (let i = start + 2; i < sql.length; i++) if (sql[i] === 0x0a || sql[i] === 0x0d) return i + 1;
    return sql.length;
  }
  const end = blockCommentEnd(sql, start);
  return end === -1 ? sql.length : end;
}

/** One past the block comment at `start` (comments nest in PostgreSQL); -1 when the text ends inside it. */
export function blockCommentEnd(sql: Buffer, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === 0x2f && sql[i + 1] === 0x2a) {
      depth++;
      i += 2;
    } else if (sql[i] === 0x2a && sql[i + 1] === 0x2f) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return -1;
}

export function skipSpaceAndComments(sql: Buffer, start: number): number {
  let i = start;
  for (;;) {
    while (i < sql.length && isSpace(sql[i]!)) i++;
    if (isCommentStart(sql, i)) i = skipComment(sql, i);
    else return i;
  }
}

/**
 * Why this text could be split into tokens differently by a server whose session changed one of the two settings
 * the analyzer reads SQL with, or undefined when it reads the same either way. A function or trigger can call
 * set_config() on them in the middle of a session (and a client can pipeline its next statement before the
 * gateway sees the change), so the text itself must not depend on them:
 * - standard_conforming_strings off: in '...' a backslash escapes the next character, so an odd run of
 *   backslashes right before a quote ('\' or 'a\''b') moves where the literal ends;
 * - a client_encoding whose multi-byte characters take 0x5C as a second byte (SJIS, BIG5, GBK, GB18030, JOHAB):
 *   a byte of 0x80 or more right before a backslash inside a literal could swallow it.
 * Comments, names, dollar quotes and the text outside literals have no backslash escapes, and no such encoding
 * takes a quote, newline, `*`, `/` or `$` as a second byte.
 */
export function escapeAmbiguity(sql: Buffer): string | undefined {
  if (sql.indexOf(BACKSLASH) < 0) return undefined;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (isCommentStart(sql, i)) {
      i = skipComment(sql, i);
    } else if (c === QUOTE) {
      // E'' (backslash escapes in every session) or a standard string; U&'' and B/X/N'' share the quote rules.
      const e = i > 0 && (sql[i - 1] === 0x45 || sql[i - 1] === 0x65) && !isIdentChar(sql[i - 2]);
      const end = stringEnd(sql, i, e);
      const why = literalAmbiguity(sql, i + 1, end, !e);
      if (why) return why;
      i = end;
    } else if (c === DOUBLE_QUOTE) {
      i = quotedEnd(sql, i, DOUBLE_QUOTE);
    } else if (c === DOLLAR && (i === 0 || !isIdentChar(sql[i - 1]))) {
      i = dollarEnd(sql, i) ?? i + 1;
    } else if (isIdentStart(c)) {
      i = identEnd(sql, i);
    } else i++;
  }
  return undefined;
}

function literalAmbiguity(sql: Buffer, start: number, end: number, standard: boolean): string | undefined {
  let run = 0;
  for (let i = start; i < end; i++) {
    const c = sql[i]!;
    if (c === BACKSLASH) {
      if (i > start && sql[i - 1]! >= 0x80) return 'a backslash right after a non-ASCII character inside a string literal could be read differently in another client_encoding';
      run++;
      continue;
    }
    if (c === QUOTE && standard && run % 2 === 1) return "a backslash right before a quote in a '...' string would escape it if standard_conforming_strings were off; write E'...' or double the backslash";
    run = 0;
  }
  return undefined;
}
