// The SQL lexer against PostgreSQL's own scanner (libpg-query's scanSync, scan.l compiled to wasm): on generated
// SQL-ish text full of quotes, '' and "" doubling, E'' escapes, string continuations, dollar quotes, nested
// comments and every number syntax, wherever the server's scanner starts a literal, a quoted name or a comment,
// the lexer must find the same end. Offsets are UTF-8 bytes on both sides.
import fc from 'fast-check';
import { loadModule, scanSync, type ScanToken } from 'libpg-query';
import { beforeAll, describe, expect, test } from 'vitest';
import { DOUBLE_QUOTE, dollarEnd, identEnd, numberEnd, quotedEnd, skipComment, stringEnd } from '../../src/policy/sql-lexer.js';
import { checkTarget, selected, type FuzzCounter, type FuzzTarget } from './harness.js';

const noNul = (s: string) => s.replaceAll('\0', '');
const textArb = fc
  .array(fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 6, unit: 'grapheme' }) }, { weight: 2, arbitrary: fc.constantFrom("'", '"', '$', '\\', '--', '/*', '*/', '\n', '\r', 'é', '€', 'E', 'x') }), { maxLength: 6 })
  .map((a) => noNul(a.join('')));

const identArb = fc.stringMatching(/^[a-z_][a-z0-9_$]{0,8}$/);
const tagArb = fc.oneof(fc.constant(''), fc.stringMatching(/^[a-z_][a-z0-9_]{0,4}$/));

const tokenArb: fc.Arbitrary<string> = fc.oneof(
  identArb,
  fc.constantFrom('select', 'from', 'where', 'E', 'x', 'b', 'n', 'U'),
  textArb.map((t) => `'${t.replaceAll("'", "''")}'`),
  // a continuation: two literals with a newline between them are one
  fc.tuple(textArb, fc.constantFrom('\n', ' \n ', '\r\n', '\t\n'), textArb).map(([a, ws, b]) => `'${a.replaceAll("'", "''")}'${ws}'${b.replaceAll("'", "''")}'`),
  fc
    .array(fc.oneof(fc.string({ maxLength: 4, unit: 'grapheme' }).map((s) => noNul(s).replaceAll('\\', '').replaceAll("'", "''")), fc.constantFrom("\\'", '\\\\', '\\n', '\\t', '\\x41', '\\101', "''", '\\"')), { maxLength: 6 })
    .map((parts) => `${parts.length % 2 ? 'E' : 'e'}'${parts.join('')}'`),
  fc.tuple(tagArb, textArb).map(([tag, body]) => {
    const d = `$${tag}$`;
    return `${d}${body.replaceAll(d, '')}${d}`;
  }),
  textArb.map((t) => `"${t.replaceAll('"', '""') || 'q'}"`),
  fc.stringMatching(/^[0-9a-fA-F]{0,8}$/).map((h) => `x'${h}'`),
  fc.stringMatching(/^[01]{0,8}$/).map((b) => `B'${b}'`),
  // numbers: integers, decimals, exponents, 0x/0o/0b, PostgreSQL 16's underscores (not right after 0x: the
  // known divergence in the test.fails below)
  fc.constantFrom('0', '1', '42', '3.14', '.5', '5.', '1e10', '1.5E-3', '2e+7', '0x1F', '0XfF', '0o17', '0b101', '1_000', '1_000.000_1', '9999999999999999999'),
  fc.tuple(fc.nat(), fc.nat({ max: 9999 })).map(([a, b]) => `${a}.${b}`),
  textArb.map((t) => `--${t.replaceAll('\n', ' ').replaceAll('\r', ' ')}\n`),
  fc.tuple(textArb, textArb).map(([a, b]) => {
    const clean = (s: string) => s.replaceAll('*/', '').replaceAll('/*', '').replaceAll('*', '').replaceAll('/', '');
    return `/* ${clean(a)} /* ${clean(b)} */ */`;
  }),
  fc.constantFrom('+', '-', '*', '<', '>', '=', ',', '(', ')', ';', '::', '[', ']'),
);

const sqlArb = fc.tuple(fc.array(tokenArb, { minLength: 1, maxLength: 24 }), fc.array(fc.constantFrom(' ', '\n', '\t', '  '), { minLength: 24, maxLength: 24 })).map(([tokens, spaces]) =>
  tokens.map((t, i) => t + spaces[i]).join(''),
);

/** Where the lexer says the token that the server's scanner starts at `t.start` ends; undefined for tokens it does not read. */
function lexerEnd(sql: Buffer, t: ScanToken): { end: number; kind: string } | undefined {
  const s = t.start;
  const c = String.fromCharCode(sql[s]!);
  const next = String.fromCharCode(sql[s + 1] ?? 0);
  if (c === "'") return { end: stringEnd(sql, s, false), kind: 'string' };
  if ((c === 'E' || c === 'e') && next === "'") return { end: stringEnd(sql, s + 1, true), kind: 'E-string' };
  if ('xXbB'.includes(c) && next === "'") {
    // Inside X'' and B'' the server takes no '' as a quote, in a continuation either; the lexer reads them as in
    // ''. They differ only where a '' follows the prefix, which cannot parse (X'ab' 'cd' is two adjacent
    // literals), so the lexer's callers, which see parsed statements only, never meet it.
    if (/^[xXbB]'[^']*'$/.test(t.text) || !/\s/.test(t.text)) return { end: stringEnd(sql, s + 1, false), kind: 'bit string' };
    return undefined;
  }
  if (c === '$' && t.tokenName === 'SCONST') return { end: dollarEnd(sql, s)!, kind: 'dollar string' };
  if (c === '"') return { end: quotedEnd(sql, s, DOUBLE_QUOTE), kind: 'quoted name' };
  if (c === '-' && next === '-') {
    // The server's comment token stops before the newline; the lexer's end is past it.
    const end = skipComment(sql, s);
    return { end: sql[end - 1] === 0x0a || sql[end - 1] === 0x0d ? end - 1 : end, kind: 'line comment' };
  }
  if (c === '/' && next === '*') return { end: skipComment(sql, s), kind: 'block comment' };
  if (t.tokenName === 'ICONST' || t.tokenName === 'FCONST') return { end: numberEnd(sql, s), kind: 'number' };
  if (t.tokenName === 'IDENT' || t.keywordKind !== 0) return { end: identEnd(sql, s), kind: 'name' };
  return undefined;
}

const target: FuzzTarget = { name: 'lexer.vs-libpg-query', ciRuns: 400, frontend: true };

describe('fuzz: SQL lexer against libpg-query', () => {
  const counter: FuzzCounter = { messages: 0 };
  beforeAll(async () => {
    await loadModule();
  });

  test.runIf(selected(target.name))('literals, quoted names, numbers and comments end where the server scanner ends them', () => {
    let compared = 0;
    let unscannable = 0;
    checkTarget(
      target,
      counter,
      fc.property(sqlArb, (text) => {
        // Each generated text is what a client would send as one Query message.
        counter.messages++;
        let tokens: ScanToken[];
        try {
          tokens = scanSync(text).tokens;
        } catch {
          // The server's scanner refuses it (an unterminated literal the generator made by adjacency): no
          // statement the lexer's callers see, since they see parsed ones only.
          unscannable++;
          return;
        }
        const sql = Buffer.from(text, 'utf8');
        for (const t of tokens) {
          const mine = lexerEnd(sql, t);
          if (mine === undefined) continue;
          compared++;
          if (mine.end !== t.end) {
            expect.fail(`${mine.kind} at byte ${t.start}: the server's scanner ends it at ${t.end} (${t.tokenName} ${JSON.stringify(sql.toString('utf8', t.start, t.end))}), the lexer at ${mine.end} in ${JSON.stringify(text)}`);
          }
        }
      }),
    );
    // The generator must reach the lexer's cases, or the agreement above says nothing.
    expect(compared).toBeGreaterThan(0);
    expect(unscannable).toBeLessThan(counter.messages / 4);
  });

  // Found by the fuzzer: scan.l's hexinteger is 0[xX](_?{hexdigit})+, so PostgreSQL 16+ reads 0x_ff (and 0o_17,
  // 0b_1) as one number; the lexer stopped after the 0 (fixed in scanNumber).
  test('an underscore right after 0x/0o/0b', () => {
    for (const text of ['0x_ff', '0o_17', '0b_1']) {
      const [t] = scanSync(text).tokens;
      expect(numberEnd(Buffer.from(text), 0)).toBe(t!.end);
    }
  });
});
