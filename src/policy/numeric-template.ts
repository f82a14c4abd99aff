// A statement's text with the values of its numeric literals taken out: `... WHERE aid = 17` and
// `... WHERE aid = 42` have one template. Clients that send literals instead of parameters (pgbench -S, ORMs
// in simple mode, most agents) send a new text for every statement; two texts with one template tokenize
// identically except for those values, so PostgreSQL's grammar gives them one tree shape. The analyzer uses
// that to skip the parse (see analyze.ts, which also decides which shapes may share a result).
//
// This is a lexer of PostgreSQL's lexical rules, not a parser, and it refuses (undefined) whatever it could
// read differently from the server: an unterminated string or comment, a number run into a name (`1abc`, a
// syntax error since PostgreSQL 15), a dot after a number. A refused text is simply parsed in full.

// A query string cannot contain NUL (the protocol ends it there), so a marker with NUL in it cannot collide
// with anything a client can send.
const INTEGER = '\0i';
const DECIMAL = '\0d';

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHexDigit = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
// ASCII letters, underscore and every non-ASCII code unit start a name (as in scan.l's ident_start).
const isNameStart = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
const isNamePart = (c: number): boolean => isNameStart(c) || isDigit(c) || c === 0x24; /* $ */

/** Where a quoted run that starts at `i` (on the opening quote) ends, one past its closing quote; -1 when unterminated. */
function skipQuoted(sql: string, i: number, quote: number, backslashEscapes: boolean): number {
  for (let j = i + 1; j < sql.length; j++) {
    const c = sql.charCodeAt(j);
    if (backslashEscapes && c === 0x5c /* \ */) {
      j++;
      continue;
    }
    if (c !== quote) continue;
    if (sql.charCodeAt(j + 1) === quote) {
      j++; // a doubled quote stands for itself
      continue;
    }
    return j + 1;
  }
  return -1;
}

/** One past a block comment starting at `i` (comments nest in PostgreSQL); -1 when unterminated. */
function skipBlockComment(sql: string, i: number): number {
  let depth = 0;
  for (let j = i; j < sql.length - 1; j++) {
    const c = sql.charCodeAt(j);
    const d = sql.charCodeAt(j + 1);
    if (c === 0x2f && d === 0x2a) {
      depth++;
      j++;
    } else if (c === 0x2a && d === 0x2f) {
      depth--;
      j++;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

/** The `$tag$` opening a dollar-quoted string at `i`, or undefined when `$` starts no such tag. */
function dollarTag(sql: string, i: number): string | undefined {
  let j = i + 1;
  if (sql.charCodeAt(j) === 0x24) return '$$';
  if (!isNameStart(sql.charCodeAt(j))) return undefined;
  while (j < sql.length && (isNameStart(sql.charCodeAt(j)) || isDigit(sql.charCodeAt(j)))) j++;
  return sql.charCodeAt(j) === 0x24 ? sql.slice(i, j + 1) : undefined;
}

function skipDigits(sql: string, i: number, digit: (c: number) => boolean): number {
  // PostgreSQL 16 allows one underscore between digits (1_000_000).
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (digit(c)) i++;
    else if (c === 0x5f && digit(sql.charCodeAt(i + 1)) && i > 0 && digit(sql.charCodeAt(i - 1))) i++;
    else break;
  }
  return i;
}

/** One past the numeric literal starting at `i`, and whether it is an integer. */
function scanNumber(sql: string, i: number): { end: number; integer: boolean } {
  const c = sql.charCodeAt(i);
  const x = sql.charCodeAt(i + 1) | 0x20;
  if (c === 0x30 && (x === 0x78 || x === 0x6f || x === 0x62) /* 0x 0o 0b */) {
    const digit = x === 0x78 ? isHexDigit : x === 0x6f ? (d: number) => d >= 0x30 && d <= 0x37 : (d: number) => d === 0x30 || d === 0x31;
    const end = skipDigits(sql, i + 2, digit);
    // `0x` with no digits: the number is the 0, and the name after it makes the caller refuse the text.
    return { end: end === i + 2 ? i + 1 : end, integer: true };
  }
  let j = skipDigits(sql, i, isDigit);
  let integer = true;
  if (sql.charCodeAt(j) === 0x2e /* . */ && sql.charCodeAt(j + 1) !== 0x2e) {
    integer = false;
    j = skipDigits(sql, j + 1, isDigit);
  }
  if ((sql.charCodeAt(j) | 0x20) === 0x65 /* e */) {
    let k = j + 1;
    const sign = sql.charCodeAt(k);
    if (sign === 0x2b || sign === 0x2d) k++;
    if (isDigit(sql.charCodeAt(k))) {
      integer = false;
      j = skipDigits(sql, k, isDigit);
    }
  }
  return { end: j, integer };
}

/**
 * The text with every numeric literal replaced by a marker of its class (integer or decimal), or undefined
 * when it has none or the lexer cannot be sure it reads the text as PostgreSQL does.
 */
export function numericTemplate(sql: string): string | undefined {
  let out = '';
  let copied = 0;
  let found = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (c === 0x2d /* - */ && sql.charCodeAt(i + 1) === 0x2d) {
      const nl = sql.indexOf('\n', i);
      i = nl === -1 ? sql.length : nl + 1;
    } else if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a) {
      i = skipBlockComment(sql, i);
      if (i === -1) return undefined;
    } else if (c === 0x27 /* ' */ || c === 0x22 /* " */) {
      i = skipQuoted(sql, i, c, false);
      if (i === -1) return undefined;
    } else if (c === 0x24 /* $ */) {
      if (isDigit(sql.charCodeAt(i + 1))) {
        i = skipDigits(sql, i + 1, isDigit); // $1: a parameter, not a literal
        if (isNamePart(sql.charCodeAt(i))) return undefined;
        continue;
      }
      const tag = dollarTag(sql, i);
      if (tag === undefined) return undefined;
      const close = sql.indexOf(tag, i + tag.length);
      if (close === -1) return undefined;
      i = close + tag.length;
    } else if (isNameStart(c)) {
      const start = i;
      while (i < sql.length && isNamePart(sql.charCodeAt(i))) i++;
      const next = sql.charCodeAt(i);
      // E'...' takes backslash escapes; B'', X'', N'' and U&'' are quoted as usual (U&"" too).
      if (next === 0x27 && i - start === 1 && (c | 0x20) === 0x65) {
        i = skipQuoted(sql, i, 0x27, true);
        if (i === -1) return undefined;
      }
    } else if (isDigit(c) || (c === 0x2e && isDigit(sql.charCodeAt(i + 1)))) {
      const n = scanNumber(sql, i);
      const after = sql.charCodeAt(n.end);
      // `1abc`, `1.2.3`, `0x`: text PostgreSQL reads as something else or refuses; not templated.
      if (isNamePart(after) || after === 0x2e) return undefined;
      out += sql.slice(copied, i) + (n.integer ? INTEGER : DECIMAL);
      copied = n.end;
      found = true;
      i = n.end;
    } else {
      i++;
    }
  }
  return found ? out + sql.slice(copied) : undefined;
}
