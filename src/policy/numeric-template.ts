// A statement's text with the values of its numeric literals taken out: `... WHERE aid = 17` and
// `... WHERE aid = 42` have one template. Clients that send literals instead of parameters (pgbench -S, ORMs
// in simple mode, most agents) send a new text for every statement; texts with one template tokenize alike
// except for those values. analyze.ts lets them share one analysis, after checking on the first text's parse
// tree that every number found here is one of its numeric constants (and nothing else is): a text this lexer
// reads differently from the server never gets a template.
//
// Anything the lexer could read differently from PostgreSQL is refused (undefined) outright: an unterminated
// string, name or comment, a string continued on another line, a number run into a name (`1abc`, a syntax
// error since PostgreSQL 15) or a dot (`1.2.3`).
import {
  DOLLAR, DOUBLE_QUOTE, QUOTE, blockCommentEnd, digitsEnd, dollarEnd, identEnd, isCommentStart, isDigit, isIdentChar, isIdentStart, quotedEnd,
  scanNumber, scanString, skipComment,
} from './sql-lexer.js';

// A query string cannot contain NUL (the protocol ends it there), so a marker with NUL in it cannot collide
// with anything a client can send.
const INTEGER = '\0i';
const DECIMAL = '\0d';

export interface NumericLiterals {
  /** the text (as latin1 of its UTF-8 bytes) with each numeric literal replaced by a marker of its class */
  template: string;
  /** byte offsets where the numeric literals start, in order */
  offsets: number[];
}

/** One past a string at `quote`; -1 when it is unterminated or continued on another line. */
function closedString(sql: Buffer, quote: number, backslashEscapes: boolean): number {
  const s = scanString(sql, quote, backslashEscapes);
  return s.closed && !s.continued ? s.end : -1;
}

/** One past a $tag$ body at `start`; -1 when `$` opens no tag or the body is not closed. */
function closedDollar(sql: Buffer, start: number): number {
  const end = dollarEnd(sql, start);
  if (end === undefined) return -1;
  const tagEnd = sql.indexOf(DOLLAR, start + 1) + 1;
  const tag = sql.subarray(start, tagEnd);
  return end >= tagEnd + tag.length && sql.subarray(end - tag.length, end).equals(tag) ? end : -1;
}

/** The numeric literals of a statement's UTF-8 bytes, or undefined when it has none or cannot be read for sure. */
export function numericLiterals(sql: Buffer): NumericLiterals | undefined {
  let template = '';
  let copied = 0;
  const offsets: number[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (isCommentStart(sql, i)) {
      i = c === 0x2f ? blockCommentEnd(sql, i) : skipComment(sql, i);
    } else if (c === QUOTE) {
      i = closedString(sql, i, false);
    } else if (c === DOUBLE_QUOTE) {
      const end = quotedEnd(sql, i, DOUBLE_QUOTE);
      i = sql[end - 1] === DOUBLE_QUOTE && end > i + 1 ? end : -1;
    } else if (c === DOLLAR) {
      if (isDigit(sql[i + 1])) {
        i = digitsEnd(sql, i + 1); // $1: a parameter, not a literal
        if (isIdentChar(sql[i])) return undefined;
      } else i = closedDollar(sql, i);
    } else if (isIdentStart(c)) {
      const end = identEnd(sql, i);
      // E'...' takes backslash escapes; B'', X'', N'' and U&'' are read as plain strings on the next turn.
      i = end === i + 1 && (c | 0x20) === 0x65 && sql[end] === QUOTE ? closedString(sql, end, true) : end;
    } else if (isDigit(c) || (c === 0x2e && isDigit(sql[i + 1]))) {
      const n = scanNumber(sql, i);
      const after = sql[n.end];
      if (isIdentChar(after) || after === 0x2e) return undefined;
      template += sql.toString('latin1', copied, i) + (n.integer ? INTEGER : DECIMAL);
      offsets.push(i);
      copied = n.end;
      i = n.end;
    } else {
      i++;
    }
    if (i === -1) return undefined;
  }
  return offsets.length > 0 ? { template: template + sql.toString('latin1', copied), offsets } : undefined;
}

/** The template of a statement's text (see numericLiterals). */
export function numericTemplate(sql: string): string | undefined {
  return numericLiterals(Buffer.from(sql, 'utf8'))?.template;
}
