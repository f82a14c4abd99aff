// The COPY TO rewriters: random rows written in text, CSV or binary with random options, one or more rows per
// CopyData, against a plan that passes, redacts, nulls and scans columns. The output must read back (with the
// reference readers of copy-codec.ts) to the same rows with exactly the planned columns changed; damaged or
// random payloads give a result or a coded MaskingError, nothing else.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CopyOutRewriter, MaskingError, REDACTED, compileMasking, type ColumnPlan, type CopyOptions } from '../../src/masking/index.js';
import {
  BINARY_TRAILER,
  binaryHeader,
  binaryTuple,
  readBinaryTuples,
  readCsvRows,
  readTextRows,
  writeCsvRow,
  writeTextRow,
  type Row,
} from './copy-codec.js';
import { caught, checkTarget, mutate, mutationsArb, selected, type FuzzCounter, type FuzzTarget } from './harness.js';

const policy = compileMasking([{ detectors: ['email'] }], Buffer.alloc(32, 7));
const PLANS: Record<string, ColumnPlan> = {
  pass: { action: 'pass' },
  redact: { action: 'mask', strategy: { kind: 'redact' } },
  null: { action: 'null' },
  scan: { action: 'scan' },
};
type PlanName = keyof typeof PLANS;
const TEXT_OID = 25;
const JSONB_OID = 3802;

const valueArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.string({ maxLength: 20, unit: 'grapheme' }) },
  // the characters each format must escape or quote
  { weight: 3, arbitrary: fc.array(fc.constantFrom('\\', '\n', '\r', '\t', ',', '|', ';', '"', "'", 'N', '.', 'a', 'é', 'x@y.io', ' '), { maxLength: 8 }).map((a) => a.join('')) },
);
const planArb = fc.array(fc.constantFrom<PlanName>('pass', 'redact', 'null', 'scan'), { minLength: 1, maxLength: 6 });

const textOptionsArb = fc.record({
  delimiter: fc.constantFrom('\t', ',', '|', ';'),
  null: fc.constantFrom('\\N', 'NULL', ''),
  header: fc.boolean(),
}).map((o): CopyOptions => ({ format: 'text', quote: '"', escape: '"', ...o }));

const csvOptionsArb = fc
  .record({
    delimiter: fc.constantFrom(',', ';', '|', '\t'),
    null: fc.constantFrom('', 'NULL', '\\N'),
    quote: fc.constantFrom('"', "'"),
    escapeIsQuote: fc.boolean(),
    header: fc.boolean(),
  })
  .map(({ escapeIsQuote, ...o }): CopyOptions => ({ format: 'csv', escape: escapeIsQuote ? o.quote : '\\', ...o }));

/** Rows cut into CopyData payloads of whole rows, as PostgreSQL sends them (it sends one row per message). */
function group<T>(items: T[], sizes: number[]): T[][] {
  const out: T[][] = [];
  let i = 0;
  for (let k = 0; i < items.length; k++) {
    const n = Math.max(1, sizes[k % Math.max(sizes.length, 1)] ?? 1);
    out.push(items.slice(i, i + n));
    i += n;
  }
  return out;
}

/** What the reader must see in a column after masking: the planned change, or the original value. */
function expectedValue(plan: PlanName, v: string | null, fixed: string): string | null | 'any' {
  if (plan === 'pass') return v;
  if (plan === 'null') return null;
  if (plan === 'redact') return v === null ? null : fixed;
  return v === null ? null : 'any';
}

function expectMaskedRows(got: Row[], rows: Row[], plans: PlanName[], fixed: string): void {
  expect(got.length).toBe(rows.length);
  rows.forEach((row, r) =>
    row.forEach((v, c) => {
      const want = expectedValue(plans[c]!, v, fixed);
      if (want !== 'any') expect(got[r]![c], `row ${r} column ${c} (${plans[c]})`).toBe(want);
      // scanned: the detectors may rewrite the text (what they find is their own tests' business), never drop it
      else expect(typeof got[r]![c]).toBe('string');
    }),
  );
}


function rewriteAll(rewriter: CopyOutRewriter, payloads: Buffer[], counter: FuzzCounter): Buffer[] {
  counter.messages += payloads.length;
  return payloads.map((p) => rewriter.rewrite(p) ?? p);
}

const COPY_DATA_ERRORS = ['AGENTDB_ERR_MASKING_COPY_DATA'];
function expectValueOrCoded(fn: () => unknown): void {
  const err = caught(fn);
  if (err === undefined) return;
  if (!(err instanceof MaskingError)) expect.fail(`a COPY rewriter threw ${String(err)}\n${err instanceof Error ? err.stack : ''}`);
  expect(COPY_DATA_ERRORS).toContain(err.code);
}

const targets: Record<string, FuzzTarget> = {
  text: { name: 'copy.text', ciRuns: 200, frontend: false },
  csv: { name: 'copy.csv', ciRuns: 200, frontend: false },
  binary: { name: 'copy.binary', ciRuns: 200, frontend: false },
  damaged: { name: 'copy.damaged', ciRuns: 300, frontend: false },
};

describe('fuzz: COPY TO rewriters', () => {
  const counter: FuzzCounter = { messages: 0 };
  const sizesArb = fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 4 });

  test.runIf(selected(targets.text!.name))('text format: reads back with exactly the planned columns masked', () => {
    checkTarget(
      targets.text!,
      counter,
      fc.property(textOptionsArb, planArb, fc.array(fc.array(valueArb, { minLength: 6, maxLength: 6 }), { maxLength: 8 }), sizesArb, (o, plans, wide, sizes) => {
        // A value whose escaped form is the NULL string would be NULL to PostgreSQL too: not a valid row.
        const rows = wide.map((w) => w.slice(0, plans.length)).filter((row) => row.every((v) => v === null || writeTextRow([v], o) !== o.null + '\n'));
        const header = o.header ? [plans.map((_, i) => `c${i}`).join(o.delimiter) + '\n'] : [];
        const lines = [...header, ...rows.map((row) => writeTextRow(row, o))];
        const payloads = group(lines, sizes).map((g) => Buffer.from(g.join(''), 'utf8'));
        const out = rewriteAll(new CopyOutRewriter(o, plans.map((p) => PLANS[p]!), policy), payloads, counter);
        const all = Buffer.concat(out).toString('utf8');
        const got = readTextRows(all, o);
        if (o.header) expect(got.shift()).toEqual(plans.map((_, i) => `c${i}`));
        expectMaskedRows(got, rows, plans, REDACTED);
      }),
    );
  });

  test.runIf(selected(targets.csv!.name))('CSV format: reads back with exactly the planned columns masked', () => {
    checkTarget(
      targets.csv!,
      counter,
      fc.property(csvOptionsArb, planArb, fc.array(fc.array(valueArb, { minLength: 6, maxLength: 6 }), { maxLength: 8 }), fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), sizesArb, (o, plans, wide, force, sizes) => {
        const rows = wide.map((w) => w.slice(0, plans.length));
        const header = o.header ? [plans.map((_, i) => `c${i}`).join(o.delimiter) + '\n'] : [];
        const lines = [...header, ...rows.map((row) => writeCsvRow(row, o, force))];
        const payloads = group(lines, sizes).map((g) => Buffer.from(g.join(''), 'utf8'));
        const out = rewriteAll(new CopyOutRewriter(o, plans.map((p) => PLANS[p]!), policy), payloads, counter);
        const got = readCsvRows(Buffer.concat(out).toString('utf8'), o);
        if (o.header) expect(got.shift()).toEqual(plans.map((_, i) => `c${i}`));
        expectMaskedRows(got, rows, plans, REDACTED);
      }),
    );
  });

  test.runIf(selected(targets.binary!.name))('binary format (text and jsonb columns): reads back with exactly the planned columns masked', () => {
    checkTarget(
      targets.binary!,
      counter,
      fc.property(
        planArb,
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.array(fc.array(valueArb, { minLength: 6, maxLength: 6 }), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 8 }),
        (plans, jsonb, wide, extension) => {
          const types = plans.map((_, i) => (jsonb[i] ? JSONB_OID : TEXT_OID));
          const encode = (v: string | null, i: number) => (v === null ? null : types[i] === JSONB_OID ? Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(v))]) : Buffer.from(v, 'utf8'));
          const rows = wide.map((w) => w.slice(0, plans.length));
          // PostgreSQL's framing: the header with the first tuple, one tuple per message, the trailer alone.
          const tuples = rows.map((row) => binaryTuple(row.map(encode)));
          const payloads = tuples.length === 0 ? [Buffer.concat([binaryHeader(Buffer.from(extension)), BINARY_TRAILER])] : [Buffer.concat([binaryHeader(Buffer.from(extension)), tuples[0]!]), ...tuples.slice(1), BINARY_TRAILER];
          const out = rewriteAll(new CopyOutRewriter({ format: 'binary', delimiter: '\t', null: '\\N', quote: '"', escape: '"', header: false }, plans.map((p) => PLANS[p]!), policy, types), payloads, counter);
          const got = readBinaryTuples(out).map((row) =>
            row.map((v, i) => {
              if (v === null) return null;
              if (types[i] !== JSONB_OID) return v.toString('utf8');
              expect(v[0]).toBe(1);
              const json = v.toString('utf8', 1);
              return JSON.parse(json) as string;
            }),
          );
          expectMaskedRows(got, rows, plans, REDACTED);
        },
      ),
    );
  });

  test.runIf(selected(targets.damaged!.name))('damaged or random payloads in every format: a result or AGENTDB_ERR_MASKING_COPY_DATA', () => {
    const formatArb = fc.oneof(textOptionsArb, csvOptionsArb, fc.constant<CopyOptions>({ format: 'binary', delimiter: '\t', null: '\\N', quote: '"', escape: '"', header: false }));
    checkTarget(
      targets.damaged!,
      counter,
      fc.property(
        formatArb,
        planArb,
        fc.array(fc.array(valueArb, { minLength: 6, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
        fc.oneof(mutationsArb.map((m) => ({ m })), fc.uint8Array({ maxLength: 200 }).map((r) => ({ r: Buffer.from(r) }))),
        (o, plans, wide, damage) => {
          const rows = wide.map((w) => w.slice(0, plans.length));
          let payloads: Buffer[];
          if (o.format === 'binary') payloads = [Buffer.concat([binaryHeader(Buffer.alloc(0)), ...rows.map((row) => binaryTuple(row.map((v) => (v === null ? null : Buffer.from(v))))), BINARY_TRAILER])];
          else payloads = [Buffer.from(rows.map((row) => (o.format === 'csv' ? writeCsvRow(row, o, []) : writeTextRow(row, o))).join(''), 'utf8')];
          const bad = 'm' in damage ? mutate(payloads[0]!, damage.m) : damage.r;
          const rewriter = new CopyOutRewriter(o, plans.map((p) => PLANS[p]!), policy, plans.map(() => TEXT_OID));
          counter.messages += 2;
          expectValueOrCoded(() => rewriter.rewrite(bad));
          // And as a whole CopyData message, where the length word itself can be wrong.
          const msg = Buffer.concat([Buffer.from([0x64, 0, 0, 0, 0]), bad]);
          msg.writeInt32BE(4 + bad.length, 1);
          expectValueOrCoded(() => new CopyOutRewriter(o, plans.map((p) => PLANS[p]!), policy, plans.map(() => TEXT_OID)).rewriteMessage(mutate(msg, [{ at: 1 + (bad.length % 4), kind: 'set', byte: bad[0] ?? 0 }]), 0, msg.length));
        },
      ),
    );
  });
});
