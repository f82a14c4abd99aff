// The DataRow rewriter: random rows (text and binary, text and jsonb columns, NULLs), anywhere in a buffer, against
// a plan that passes, redacts, nulls and scans. The output decodes with the pgwire decoder to the same row with
// exactly the planned columns changed; a damaged row gives a result or AGENTDB_ERR_MASKING_MALFORMED_ROW.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MaskingError, REDACTED, compileMasking, compileRowPlan, rewriteDataRow, type ColumnPlan } from '../../src/masking/index.js';
import { dataRow } from '../../src/pgwire/index.js';
import { readDataRow } from '../../src/pgwire/backend-decoders.js';
import { caught, checkTarget, mutate, mutationsArb, selected, type FuzzCounter, type FuzzTarget } from './harness.js';

const policy = compileMasking([{ detectors: ['email'] }], Buffer.alloc(32, 7));
const PLANS: Record<string, ColumnPlan> = {
  pass: { action: 'pass' },
  redact: { action: 'mask', strategy: { kind: 'redact' } },
  redactNulls: { action: 'mask', strategy: { kind: 'redact' }, nulls: true },
  null: { action: 'null' },
  scan: { action: 'scan' },
};
type PlanName = keyof typeof PLANS;
const TEXT_OID = 25;
const JSONB_OID = 3802;

const columnArb = fc.record({
  plan: fc.constantFrom<PlanName>('pass', 'redact', 'redactNulls', 'null', 'scan'),
  jsonb: fc.boolean(),
  binary: fc.boolean(),
  value: fc.oneof(fc.constant(null), fc.string({ maxLength: 24, unit: 'grapheme' }), fc.constantFrom('x@y.io', 'mail x@y.io now', '')),
});
type Column = typeof columnArb extends fc.Arbitrary<infer T> ? T : never;

function encode(c: Column): Buffer | null {
  if (c.value === null) return null;
  if (!c.jsonb) return Buffer.from(c.value, 'utf8');
  const json = Buffer.from(JSON.stringify(c.value), 'utf8');
  return c.binary ? Buffer.concat([Buffer.from([1]), json]) : json;
}

/** The value a client reads back, as text; jsonb decoded to the string it holds. */
function decode(c: Column, v: Buffer | null): string | null {
  if (v === null) return null;
  if (!c.jsonb) return v.toString('utf8');
  if (c.binary) expect(v[0]).toBe(1);
  return JSON.parse(v.toString('utf8', c.binary ? 1 : 0)) as string;
}

function expected(c: Column): string | null | 'any' {
  switch (c.plan) {
    case 'pass':
      return c.value;
    case 'null':
      return null;
    case 'redact':
      return c.value === null ? null : REDACTED;
    case 'redactNulls':
      return REDACTED;
    default:
      return c.value === null ? null : 'any';
  }
}

const planOf = (cols: Column[]) =>
  compileRowPlan(
    cols.map((c) => PLANS[c.plan]!),
    cols.map((c) => (c.binary ? 1 : 0)),
    cols.map((c) => (c.jsonb ? JSONB_OID : TEXT_OID)),
    policy,
  );

const targets: Record<string, FuzzTarget> = {
  rows: { name: 'datarow.rows', ciRuns: 300, frontend: false },
  damaged: { name: 'datarow.damaged', ciRuns: 300, frontend: false },
};

describe('fuzz: DataRow rewriter', () => {
  const counter: FuzzCounter = { messages: 0 };

  test.runIf(selected(targets.rows!.name))('rows decode back with exactly the planned columns masked', () => {
    checkTarget(
      targets.rows!,
      counter,
      fc.property(fc.array(columnArb, { minLength: 1, maxLength: 10 }), fc.nat({ max: 32 }), fc.nat({ max: 32 }), (cols, before, after) => {
        const row = dataRow(cols.map(encode));
        const buf = Buffer.concat([Buffer.alloc(before, 0x44), row, Buffer.alloc(after, 0x44)]);
        counter.messages++;
        const out = rewriteDataRow(buf, before, row.length, planOf(cols)) ?? row;
        const values = readDataRow(out, 0, out.length);
        expect(values.length).toBe(cols.length);
        cols.forEach((c, i) => {
          const want = expected(c);
          const got = decode(c, values[i]!);
          if (want === 'any') expect(typeof got).toBe('string');
          else expect(got, `column ${i} (${c.plan}, ${c.jsonb ? 'jsonb' : 'text'}, ${c.binary ? 'binary' : 'text'})`).toBe(want);
        });
      }),
    );
  });

  test.runIf(selected(targets.damaged!.name))('damaged rows: a row or AGENTDB_ERR_MASKING_MALFORMED_ROW, never another exception', () => {
    checkTarget(
      targets.damaged!,
      counter,
      fc.property(fc.array(columnArb, { minLength: 1, maxLength: 6 }), mutationsArb, fc.integer({ min: -2, max: 2 }), (cols, mutations, lengthSkew) => {
        const bad = mutate(dataRow(cols.map(encode)), mutations);
        counter.messages++;
        const err = caught(() => rewriteDataRow(bad, 0, Math.max(0, bad.length + lengthSkew), planOf(cols)));
        if (err === undefined) return;
        if (!(err instanceof MaskingError)) expect.fail(`rewriteDataRow threw ${String(err)}\n${err instanceof Error ? err.stack : ''}`);
        expect(err.code).toBe('AGENTDB_ERR_MASKING_MALFORMED_ROW');
      }),
    );
  });

  // Found by the fuzzer: the email detector read the 't' of a JSON escape ("\tx@y.io") as part of the address and
  // left "\[email]", which is no JSON. A scanned JSON value that would not parse is now redacted whole, as JSON.
  test('scanning a jsonb string that holds an escape before an address keeps it JSON, and masked', () => {
    const c: Column = { plan: 'scan', jsonb: true, binary: true, value: '\tx@y.io' };
    const row = dataRow([encode(c)]);
    const out = rewriteDataRow(row, 0, row.length, planOf([c]))!;
    const got = decode(c, readDataRow(out, 0, out.length)[0]!);
    expect(typeof got).toBe('string');
    expect(String(got)).not.toContain('@');
  });
});
