// Where a literal ends. The parser gives where a constant starts (A_Const.location, a byte offset) but not
// where it ends; the audit log needs the whole literal gone. PostgreSQL's literal forms ('...' with ''
// escapes, E'...' with backslash escapes, B'', X'', N'', U&'', strings continued across a newline,
// $tag$...$tag$, numbers, signs, TRUE/NULL) are read by the project's one SQL lexer (policy/sql-lexer.ts).

import {
  DOLLAR, QUOTE, digitsEnd, dollarEnd, identEnd, isCommentStart, isDigit, isIdentStart, isPrefixLetter, numberEnd, quotedEnd, skipComment,
  skipSpaceAndComments, stringEnd,
} from '../../policy/sql-lexer.js';

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
    if (isCommentStart(sql, i)) {
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
