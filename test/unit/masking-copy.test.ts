import { describe, expect, test } from 'vitest';
import { CopyOutRewriter, MaskingError, compileMasking, type ColumnPlan, type CopyOptions } from '../../src/masking/index.js';

const KEY = Buffer.alloc(32, 5);
const policy = compileMasking([{ columns: { 'c.x': 'redact' }, detectors: ['email'] }], KEY);
const pass: ColumnPlan = { action: 'pass' };
const scan: ColumnPlan = { action: 'scan' };
const redact: ColumnPlan = { action: 'mask', strategy: { kind: 'redact' } };
const email: ColumnPlan = { action: 'mask', strategy: { kind: 'email' } };
const partial: ColumnPlan = { action: 'mask', strategy: { kind: 'partial', keep: 2 } };
const nullify: ColumnPlan = { action: 'null' };

const TEXT: CopyOptions = { format: 'text', delimiter: '\t', null: '\\N', quote: '"', escape: '"', header: false };
const CSV: CopyOptions = { format: 'csv', delimiter: ',', null: '', quote: '"', escape: '"', header: false };
const BINARY: CopyOptions = { format: 'binary', delimiter: '\t', null: '\\N', quote: '"', escape: '"', header: false };

const rewrite = (r: CopyOutRewriter, payload: string) => r.rewrite(Buffer.from(payload, 'utf8'))?.toString('utf8');

describe('COPY text format', () => {
  test('masks the planned fields and leaves the rest byte for byte', () => {
    const r = new CopyOutRewriter(TEXT, [pass, redact, email, scan], policy);
    expect(rewrite(r, '1\tsecret\tbob@example.com\twrite to a@b.io\n')).toBe('1\t***\t***@example.com\twrite to [email]\n');
  });

  test('backslash escapes are decoded before masking and applied to what is written', () => {
    const r = new CopyOutRewriter(TEXT, [partial, scan, pass], policy);
    // value 'ab\tcd' (escaped tab) keeps its last 2 characters; a scanned value with a newline keeps it escaped
    expect(rewrite(r, 'ab\\tcd\tx@y.io\\nz\\\\w\tq\\tr\n')).toBe('***cd\t[email]\\nz\\\\w\tq\\tr\n');
    // octal and hex escapes
    const h = new CopyOutRewriter(TEXT, [scan], policy);
    expect(rewrite(h, 'a\\100b.io x\\x40y.io\n')).toBe('[email] [email]\n');
  });

  test('NULL (\\N) stays NULL; a masked value of strategy null becomes \\N', () => {
    const r = new CopyOutRewriter(TEXT, [redact, nullify], policy);
    expect(rewrite(r, '\\N\tvalue\n')).toBe('\\N\t\\N\n');
  });

  test('a custom delimiter and NULL string, several rows per message, a header line left alone', () => {
    const r = new CopyOutRewriter({ ...TEXT, delimiter: '|', null: 'NULL', header: true }, [pass, redact], policy);
    expect(rewrite(r, 'id|ssn\n')).toBeUndefined();
    expect(rewrite(r, '1|a\\|b\n2|NULL\n3|c\n')).toBe('1|***\n2|NULL\n3|***\n');
  });

  test('a masked value holding the delimiter is escaped', () => {
    const strategyFree = new CopyOutRewriter({ ...TEXT, delimiter: ',' }, [email], policy);
    expect(rewrite(strategyFree, 'x@a\\,b.example\n')).toBe('***@a\\,b.example\n');
  });

  test('nothing to change: undefined, no copy', () => {
    const r = new CopyOutRewriter(TEXT, [pass, scan], policy);
    expect(rewrite(r, '1\tplain\n')).toBeUndefined();
    expect(new CopyOutRewriter(TEXT, [pass, pass], policy).passThrough).toBe(true);
  });

  test('a partial row or a wrong field count is refused, not passed on', () => {
    const r = new CopyOutRewriter(TEXT, [pass, redact], policy);
    expect(() => rewrite(r, '1\tsecret')).toThrow(/does not end with a newline/);
    expect(() => rewrite(r, '1\tsecret\textra\n')).toThrow(/3 fields where 2/);
  });
});

describe('COPY csv format', () => {
  test('quoted fields with delimiters, doubled quotes and newlines are read as one value', () => {
    const r = new CopyOutRewriter(CSV, [pass, scan, redact], policy);
    expect(rewrite(r, '1,"x@y.io, ""quoted""\nnext line",plain\n')).toBe('1,"[email], ""quoted""\nnext line",***\n');
  });

  test('empty unquoted is NULL and stays; empty quoted is a value and is masked; quoted stays quoted (FORCE_QUOTE)', () => {
    const r = new CopyOutRewriter(CSV, [redact, redact, redact], policy);
    expect(rewrite(r, ',"","abc"\n')).toBe(',"***","***"\n');
  });

  test('a masked value that needs quoting gets it; a null strategy writes the NULL string', () => {
    const s = new CopyOutRewriter({ ...CSV, null: 'NIL' }, [email, nullify], policy);
    expect(rewrite(s, '"x@a,b.example",secret\n')).toBe('"***@a,b.example",NIL\n');
  });

  test('custom delimiter, QUOTE and ESCAPE, and a header line left alone', () => {
    const r = new CopyOutRewriter({ ...CSV, delimiter: ';', quote: "'", escape: '\\', header: true }, [scan, redact], policy);
    expect(rewrite(r, "note;ssn\n")).toBeUndefined();
    expect(rewrite(r, "'it\\'s a@b.io; ok';'x'\n")).toBe("'it\\'s [email]; ok';'***'\n");
  });

  test('an unterminated quoted field is refused', () => {
    const r = new CopyOutRewriter(CSV, [redact], policy);
    expect(() => rewrite(r, '"abc\n')).toThrow(MaskingError);
  });
});

describe('COPY binary format', () => {
  const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(4), Buffer.alloc(4)]);
  function tuple(fields: (Buffer | null)[]): Buffer {
    const parts: Buffer[] = [Buffer.from([fields.length >> 8, fields.length & 0xff])];
    for (const f of fields) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(f === null ? -1 : f.length);
      parts.push(len);
      if (f) parts.push(f);
    }
    return Buffer.concat(parts);
  }
  function fields(payload: Buffer, from: number): (Buffer | null)[] {
    const n = payload.readInt16BE(from);
    let pos = from + 2;
    const out: (Buffer | null)[] = [];
    for (let i = 0; i < n; i++) {
      const len = payload.readInt32BE(pos);
      pos += 4;
      out.push(len < 0 ? null : payload.subarray(pos, pos + len));
      pos += Math.max(len, 0);
    }
    return out;
  }
  const int4 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  const trailer = Buffer.from([0xff, 0xff]);

  test('header with the first tuple, then one tuple per message, then the trailer', () => {
    const r = new CopyOutRewriter(BINARY, [pass, redact, scan, redact], policy, [23, 25, 25, 3802]);
    const first = r.rewrite(Buffer.concat([header, tuple([int4(1), Buffer.from('123-45-6789'), Buffer.from('mail a@b.io'), Buffer.from('\x01{"k":1}')])]))!;
    expect(first.subarray(0, 19).equals(header)).toBe(true);
    const f = fields(first, 19);
    expect(f[0]!.readInt32BE()).toBe(1);
    expect(f[1]!.toString()).toBe('***');
    expect(f[2]!.toString()).toBe('mail [email]');
    expect(f[3]!.toString()).toBe('\x01"***"');
    const second = r.rewrite(tuple([int4(2), null, Buffer.from('none'), null]));
    expect(second).toBeUndefined();
    expect(r.rewrite(trailer)).toBeUndefined();
    expect(() => r.rewrite(tuple([int4(3), null, null, null]))).toThrow(/after the binary COPY trailer/);
  });

  test('without the column types, a masked field becomes NULL (no string is known to fit)', () => {
    const r = new CopyOutRewriter(BINARY, [redact], policy);
    const out = r.rewrite(Buffer.concat([header, tuple([Buffer.from('secret')])]))!;
    expect(fields(out, 19)).toEqual([null]);
  });

  test('a header extension is skipped; a missing header, a split tuple or a wrong field count is refused', () => {
    const ext = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(4), int4(3), Buffer.from('abc')]);
    const r = new CopyOutRewriter(BINARY, [redact], policy, [25]);
    const out = r.rewrite(Buffer.concat([ext, tuple([Buffer.from('s')])]))!;
    expect(fields(out, 22)[0]!.toString()).toBe('***');
    expect(() => new CopyOutRewriter(BINARY, [redact], policy, [25]).rewrite(tuple([Buffer.from('s')]))).toThrow(/header is missing/);
    const split = new CopyOutRewriter(BINARY, [redact], policy, [25]);
    expect(() => split.rewrite(Buffer.concat([header, tuple([Buffer.from('secret')]).subarray(0, 8)]))).toThrow(/field 1 has length|split/);
    const wrong = new CopyOutRewriter(BINARY, [redact, redact], policy, [25, 25]);
    expect(() => wrong.rewrite(Buffer.concat([header, tuple([Buffer.from('s')])]))).toThrow(/1 fields where 2/);
  });
});

describe('CopyData messages', () => {
  test('rewriteMessage rewraps the payload with the right length', () => {
    const r = new CopyOutRewriter(TEXT, [redact], policy);
    const payload = Buffer.from('secret\n');
    const msg = Buffer.concat([Buffer.from('d'), Buffer.alloc(4), payload]);
    msg.writeInt32BE(4 + payload.length, 1);
    const framed = Buffer.concat([Buffer.from('xx'), msg]);
    const out = r.rewriteMessage(framed, 2, msg.length)!;
    expect(out[0]).toBe(0x64);
    expect(out.readInt32BE(1)).toBe(out.length - 1);
    expect(out.subarray(5).toString()).toBe('***\n');
    expect(() => r.rewriteMessage(Buffer.from('d\0\0\0\x09abc'), 0, 8)).toThrow(/malformed CopyData/);
  });

  test('options a rewriter cannot work with are refused up front', () => {
    expect(() => new CopyOutRewriter({ ...CSV, delimiter: '€' }, [redact], policy)).toThrow(/single one-byte character/);
  });
});
