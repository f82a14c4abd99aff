// SASLprep (RFC 4013) as PostgreSQL applies it to SCRAM passwords (src/common/saslprep.c): map, NFKC,
// refuse prohibited characters. Where PostgreSQL's SASLprep fails it uses the password's raw bytes, so
// this returns the raw password in that case too: both sides must derive the same key.

// RFC 3454 B.1: "commonly mapped to nothing".
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;
// RFC 3454 C.1.2: non-ASCII spaces, mapped to U+0020.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
// RFC 3454 C.2 to C.9: controls, private use, non-characters, surrogates, inappropriate for plain text
// or canonical representation, change display properties, tagging. Plus unassigned code points (A.1),
// judged by the running Unicode version rather than 3.2's.
const PROHIBITED =
  /[\u0000-\u001F\u007F-\u009F\u0340\u0341\u06DD\u070F\u180E\u200C-\u200F\u2028-\u202E\u2060-\u2063\u206A-\u206F\u2FF0-\u2FFB\uD800-\uDFFF\uE000-\uF8FF\uFDD0-\uFDEF\uFEFF\uFFF9-\uFFFF\u{1D173}-\u{1D17A}\u{E0001}\u{E0020}-\u{E007F}\u{F0000}-\u{FFFFD}\u{100000}-\u{10FFFD}\p{Cn}]/u;
const NON_CHARACTER_PLANE_END = /[\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}]/u;
// RFC 3454 D.1 (RandALCat) approximated by the right-to-left scripts; D.2 (LCat) by letters of other scripts.
const RAND_AL = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}]/u;
const L_CAT = /(?![\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}])\p{L}/u;

/** The password as PostgreSQL's SCRAM uses it. ASCII passwords, by far the common case, pass unchanged. */
export function saslprepPassword(password: string): string {
  // PostgreSQL skips SASLprep for pure ASCII; that includes control characters, which it would refuse.
  if (!/[^\x00-\x7F]/.test(password)) return password;
  const prepared = password.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  if (prepared === '' || PROHIBITED.test(prepared) || NON_CHARACTER_PLANE_END.test(prepared)) return password;
  if (RAND_AL.test(prepared)) {
    // RFC 3454 section 6: text with right-to-left characters may hold no left-to-right letters and must
    // start and end with a right-to-left character.
    const first = String.fromCodePoint(prepared.codePointAt(0)!);
    const last = [...prepared].at(-1)!;
    if (L_CAT.test(prepared) || !RAND_AL.test(first) || !RAND_AL.test(last)) return password;
  }
  return prepared;
}
