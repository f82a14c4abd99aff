// Where a literal ends. The parser gives where a constant starts (A_Const.location, a byte offset) but not
// where it ends; the audit log needs the whole literal gone. A small lexer over the bytes of the statement
// knows PostgreSQL's literal forms: '...' with '' escapes, E'...' with backslash escapes, B'', X'', N'',
// U&'', strings continued across a newline, $tag$...$tag$, numbers (1_000, 0x1F, 1.5e3), signs, TRUE/NULL.
// Every delimiter is ASCII, so multi-byte UTF-8 characters never confuse it.

const QUOTE = 0x27;
const BACKSLASH = 0x5c;
const DOLLAR = 0x24;

/** The end (exclusive) of the literal or $n parameter that starts at byte `start`. */
export function literalEnd(sql: Buffer, start: number): number {
  let i = start;
  // '-5' and '- 5' start at the sign
  while (sql[i] === 0x2d /* - */ || sql[i] === 0x2b /* + */) {
    if (sql[i] === 0x2d && sql[i + 1] === 0x2d) break;
    i = skipSpaceAndComments(sql, i + 1);
  }
  const c = sql[i];
  if (c === undefined) return sql.length;
  const next = sql[i + 1];
  if (c === QUOTE) return stringEnd(sql, i, false);
  if ((c === 0x45 || c === 0x65) /* E */ && next === QUOTE) return stringEnd(sql, i + 1, true);
  if (isPrefixLetter(c) && next === QUOTE) return stringEnd(sql, i + 1, false);
  if ((c === 0x55 || c === 0x75) /* U */ && next === 0x26 /* & */ && sql[i + 2] === QUOTE) return stringEnd(sql, i + 2, false);
  if (c === DOLLAR) {
    if (isDigit(next)) return digitsEnd(sql, i + 1);
    return dollarEnd(sql, i) ?? i + 1;
  }
  if (isDigit(c) || (c === 0x2e /* . */ && isDigit(next))) return numberEnd(sql, i);
  if (isIdentStart(c)) return identEnd(sql, i);
  return i + 1;
}

/** Byte ranges of every literal in the text, for redacting a statement whose literals cannot be told apart. */
export function allLiteralRanges(sql: Buffer): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if ((c === 0x2d && next === 0x2d) || (c === 0x2f && next === 0x2a)) {
      i = skipComment(sql, i);
    } else if (c === 0x22 /* " */) {
      i = quotedEnd(sql, i, 0x22);
    } else if (c === QUOTE) {
      const end = stringEnd(sql, i, false);
      out.push([i, end]);
      i = end;
    } else if (isIdentStart(c)) {
      const end = identEnd(sql, i);
      if (end === i + 1 && sql[end] === QUOTE && ((c === 0x45 || c === 0x65) || isPrefixLetter(c))) {
        const strEnd = stringEnd(sql, end, c === 0x45 || c === 0x65);
        out.push([i, strEnd]);
        i = strEnd;
      } else if (end === i + 1 && (c === 0x55 || c === 0x75) && sql[end] === 0x26 && sql[end + 1] === QUOTE) {
        const strEnd = stringEnd(sql, end + 1, false);
        out.push([i, strEnd]);
        i = strEnd;
      } else i = end;
    } else if (c === DOLLAR) {
      if (isDigit(next)) i = digitsEnd(sql, i + 1);
      else {
        const end = dollarEnd(sql, i);
        if (end !== undefined) out.push([i, end]);
        i = end ?? i + 1;
      }
    } else if (isDigit(c) || (c === 0x2e && isDigit(next))) {
      const end = numberEnd(sql, i);
      out.push([i, end]);
      i = end;
    } else i++;
  }
  return out;
}

function stringEnd(sql: Buffer, quote: number, backslashEscapes: boolean): number {
  let i = quote + 1;
  for (;;) {
    if (i >= sql.length) return sql.length;
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
    // 'abc'<whitespace with a newline>'def' is one literal.
    let j = i + 1;
    let newline = false;
    while (j < sql.length && isSpace(sql[j]!)) {
      if (sql[j] === 0x0a || sql[j] === 0x0d) newline = true;
      j++;
    }
    if (newline && sql[j] === QUOTE) {
      i = j + 1;
      continue;
    }
    return i + 1;
  }
}

/** $tag$ ... $tag$ starting at `start`; undefined when no valid opening tag is there. */
function dollarEnd(sql: Buffer, start: number): number | undefined {
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

function numberEnd(sql: Buffer, start: number): number {
  let i = start;
  if (sql[i] === 0x30 && sql[i + 1] !== undefined && 'xXoObB'.includes(String.fromCharCode(sql[i + 1]!))) {
    i += 2;
    while (i < sql.length && (isHex(sql[i]!) || sql[i] === 0x5f)) i++;
    return i;
  }
  while (i < sql.length && (isDigit(sql[i]) || sql[i] === 0x5f)) i++;
  if (sql[i] === 0x2e && sql[i + 1] !== 0x2e) {
    i++;
    while (i < sql.length && (isDigit(sql[i]) || sql[i] === 0x5f)) i++;
  }
  if ((sql[i] === 0x65 || sql[i] === 0x45) && (isDigit(sql[i + 1]) || ((sql[i + 1] === 0x2b || sql[i + 1] === 0x2d) && isDigit(sql[i + 2])))) {
    i += 2;
    while (i < sql.length && isDigit(sql[i])) i++;
  }
  return i;
}

function digitsEnd(sql: Buffer, start: number): number {
  let i = start;
  while (i < sql.length && isDigit(sql[i])) i++;
  return i;
}

function identEnd(sql: Buffer, start: number): number {
  let i = start + 1;
  while (i < sql.length && isIdentChar(sql[i]!)) i++;
  return i;
}

function quotedEnd(sql: Buffer, start: number, q: number): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

function skipComment(sql: Buffer, start: number): number {
  if (sql[start] === 0x2d) {
    const nl = sql.indexOf(0x0a, start);
    return nl < 0 ? sql.length : nl + 1;
  }
  // Block comments nest in PostgreSQL.
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
  return sql.length;
}

function skipSpaceAndComments(sql: Buffer, start: number): number {
  let i = start;
  for (;;) {
    while (i < sql.length && isSpace(sql[i]!)) i++;
    if ((sql[i] === 0x2d && sql[i + 1] === 0x2d) || (sql[i] === 0x2f && sql[i + 1] === 0x2a)) i = skipComment(sql, i);
    else return i;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function isIdentStart(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80);
}

function isIdentChar(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === DOLLAR;
}

/** B'', X'', N'' (E'' is handled apart for its backslash escapes) */
function isPrefixLetter(c: number): boolean {
  return c === 0x42 || c === 0x62 || c === 0x58 || c === 0x78 || c === 0x4e || c === 0x6e;
}
