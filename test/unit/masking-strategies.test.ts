import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  HASH_KEY_FILE, MaskingError, compileMasking, describeStrategy, loadOrCreateHashKey, maskText, maskingBlockSchema, parseColumnName,
  type Strategy,
} from '../../src/masking/index.js';
import { thrown } from '../helpers/expect-coded.js';

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 8);

describe('strategies', () => {
  test('redact is a fixed placeholder whatever the value', () => {
    expect(maskText({ kind: 'redact' }, '123-45-6789', KEY)).toBe('***');
    expect(maskText({ kind: 'redact' }, '', KEY)).toBe('***');
    expect(maskText({ kind: 'redact' }, 'x'.repeat(1000), KEY)).toBe('***');
  });

  test('partial keeps the last N characters and the length', () => {
    const s: Strategy = { kind: 'partial', keep: 4 };
    expect(maskText(s, '4111111111111111', KEY)).toBe('************1111');
    expect(maskText(s, '4111 1111 1111 1111', KEY)).toBe('***************1111');
    expect(maskText({ kind: 'partial', keep: 2 }, 'abcdef', KEY)).toBe('****ef');
  });

  test('partial never gives away more than half of a short value', () => {
    const s: Strategy = { kind: 'partial', keep: 4 };
    expect(maskText(s, '12345', KEY)).toBe('***45');
    expect(maskText(s, '1234', KEY)).toBe('**34');
    expect(maskText(s, '1', KEY)).toBe('*');
    expect(maskText(s, '', KEY)).toBe('');
  });

  test('partial counts characters, not UTF-16 units, so no character is cut in half', () => {
    expect(maskText({ kind: 'partial', keep: 2 }, 'ab😀😀', KEY)).toBe('**😀😀');
    expect(maskText({ kind: 'partial', keep: 1 }, 'éèêë', KEY)).toBe('***ë');
  });

  test('email keeps only the domain', () => {
    expect(maskText({ kind: 'email' }, 'alice.smith@example.com', KEY)).toBe('***@example.com');
    expect(maskText({ kind: 'email' }, '"a@b"@example.org', KEY)).toBe('***@example.org');
    expect(maskText({ kind: 'email' }, 'not an address', KEY)).toBe('***');
    expect(maskText({ kind: 'email' }, 'trailing@', KEY)).toBe('***');
  });

  test('hash is keyed and stable: equal inputs, equal outputs; another key, another output', () => {
    const a = maskText({ kind: 'hash' }, 'alice@example.com', KEY);
    expect(a).toMatch(/^h:[0-9a-f]{16}$/);
    expect(maskText({ kind: 'hash' }, 'alice@example.com', KEY)).toBe(a);
    expect(maskText({ kind: 'hash' }, 'bob@example.com', KEY)).not.toBe(a);
    expect(maskText({ kind: 'hash' }, 'alice@example.com', OTHER_KEY)).not.toBe(a);
  });

  test('null gives SQL NULL', () => {
    expect(maskText({ kind: 'null' }, 'anything', KEY)).toBeNull();
  });

  test('describeStrategy names it for messages', () => {
    expect(describeStrategy({ kind: 'partial', keep: 4 })).toBe('partial 4');
    expect(describeStrategy({ kind: 'hash' })).toBe('hash');
  });
});

describe('column names', () => {
  test('unquoted parts fold to lower case, unqualified tables are in public', () => {
    expect(parseColumnName('Customers.SSN')).toEqual({ schema: 'public', table: 'customers', column: 'ssn' });
    expect(parseColumnName('sales.orders.card')).toEqual({ schema: 'sales', table: 'orders', column: 'card' });
  });

  test('double-quoted parts keep their case, dots and doubled quotes', () => {
    expect(parseColumnName('"Sales"."Order.Items"."Note ""x"""')).toEqual({ schema: 'Sales', table: 'Order.Items', column: 'Note "x"' });
  });

  test('malformed names are refused with a message that shows them', () => {
    for (const bad of ['ssn', 'a.b.c.d', 'a..b', '.a.b', 'a.b.', '"a.b', 'a b.c', '"".x', 'a"b".c']) {
      expect(() => parseColumnName(bad), bad).toThrow(MaskingError);
    }
    expect(() => parseColumnName('ssn')).toThrow(/"ssn"/);
  });
});

describe('the masking block', () => {
  test('accepts the documented shapes', () => {
    const block = maskingBlockSchema.parse({
      columns: { 'public.customers.ssn': 'redact', 'public.customers.card_number': { partial: 4 }, 'customers.email': 'email' },
      detectors: ['email', 'card', 'ssn', 'phone', 'iban', 'secret'],
      filters: 'deny',
      unmask: ['public.customers.email'],
    });
    expect(block.columns['customers.email']).toBe('email');
    expect(maskingBlockSchema.parse({}).detectors).toEqual([]);
    expect(maskingBlockSchema.parse({ detectors: 'all' }).detectors).toBe('all');
  });

  test('refuses unknown keys, strategies, detectors and column names', () => {
    expect(maskingBlockSchema.safeParse({ colums: {} }).success).toBe(false);
    expect(maskingBlockSchema.safeParse({ columns: { 'a.b': 'scramble' } }).success).toBe(false);
    expect(maskingBlockSchema.safeParse({ columns: { 'a.b': { partial: 0 } } }).success).toBe(false);
    expect(maskingBlockSchema.safeParse({ columns: { ssn: 'redact' } }).success).toBe(false);
    expect(maskingBlockSchema.safeParse({ detectors: ['dna'] }).success).toBe(false);
    expect(maskingBlockSchema.safeParse({ filters: 'maybe' }).success).toBe(false);
  });
});

describe('compileMasking', () => {
  test('unions the roles: masked by any role, strictest strategy wins, detectors add up', () => {
    const p = compileMasking(
      [
        { columns: { 'customers.ssn': { partial: 4 }, 'customers.email': 'email' }, detectors: ['email'] },
        undefined,
        { columns: { 'public.customers.ssn': 'redact', 'customers.card': { partial: 6 } }, detectors: ['card'] },
        { columns: { 'customers.card': { partial: 2 }, 'customers.email': { partial: 3 } } },
      ],
      KEY,
    );
    expect(p.columns.get('public.customers.ssn')).toEqual({ kind: 'redact' });
    expect(p.columns.get('public.customers.card')).toEqual({ kind: 'partial', keep: 2 });
    // email and partial reveal different things: they meet at redact
    expect(p.columns.get('public.customers.email')).toEqual({ kind: 'redact' });
    expect([...p.detectors].sort()).toEqual(['card', 'email']);
    expect(p.relations.get('public.customers')?.size).toBe(3);
    expect(p.scanner).toBeDefined();
    expect(p.active).toBe(true);
  });

  test('a column stays masked unless one of the roles unmasks it (a just-in-time role lifting a mask)', () => {
    const base = { columns: { 'customers.email': 'email' as const, 'customers.ssn': 'redact' as const } };
    expect(compileMasking([base], KEY).columns.has('public.customers.email')).toBe(true);
    const lifted = compileMasking([base, { unmask: ['public.customers.email'] }], KEY);
    expect(lifted.columns.has('public.customers.email')).toBe(false);
    expect(lifted.columns.has('public.customers.ssn')).toBe(true);
  });

  test('filters are allowed only if every role that says anything allows them; the default is deny', () => {
    expect(compileMasking([{}], KEY).filters).toBe('deny');
    expect(compileMasking([{}], KEY, { defaultFilters: 'allow' }).filters).toBe('allow');
    expect(compileMasking([{ filters: 'allow' }, {}], KEY).filters).toBe('allow');
    expect(compileMasking([{ filters: 'allow' }, { filters: 'deny' }], KEY).filters).toBe('deny');
  });

  test('notifications: redacted where columns are masked, scanned with detectors only, passed otherwise', () => {
    expect(compileMasking([{ columns: { 'a.b': 'redact' } }], KEY).notifications).toBe('redact');
    expect(compileMasking([{ detectors: 'all' }], KEY).notifications).toBe('scan');
    expect(compileMasking([{ columns: { 'a.b': 'redact' }, notifications: 'scan' }], KEY).notifications).toBe('scan');
    const nothing = compileMasking([], KEY);
    expect(nothing.notifications).toBe('pass');
    expect(nothing.active).toBe(false);
    expect(nothing.scanner).toBeUndefined();
  });

  test('bad blocks and keys are refused with a clear error', () => {
    expect(() => compileMasking([{ columns: { 'a.b': 'shuffle' } } as never], KEY)).toThrow(/masking block 1 at columns\.a\.b/);
    expect(() => compileMasking([{}], Buffer.alloc(16))).toThrow(/32 bytes/);
    thrown(MaskingError, () => compileMasking([{ detectors: ['nope'] } as never], KEY), 'AGENTDB_ERR_MASKING_BAD_CONFIG');
  });
});

describe('hash key file', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('is created once with 32 random bytes, mode 0600, and read back the same', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'agentdb-mask-'));
    const dataDir = path.join(dir, 'data');
    const [a, b] = await Promise.all([loadOrCreateHashKey(dataDir), loadOrCreateHashKey(dataDir)]);
    expect(a.length).toBe(32);
    expect(b.equals(a)).toBe(true);
    expect((await stat(path.join(dataDir, HASH_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateHashKey(dataDir)).equals(a)).toBe(true);
    expect((await readFile(path.join(dataDir, HASH_KEY_FILE))).equals(a)).toBe(true);
  });

  test('a key readable by others is tightened to 0600', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'agentdb-mask-'));
    const file = path.join(dir, HASH_KEY_FILE);
    await writeFile(file, Buffer.alloc(32, 1));
    await chmod(file, 0o644);
    expect((await loadOrCreateHashKey(dir)).equals(Buffer.alloc(32, 1))).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  test('a key of the wrong size is refused, not replaced', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'agentdb-mask-'));
    await writeFile(path.join(dir, HASH_KEY_FILE), 'short');
    await expect(loadOrCreateHashKey(dir)).rejects.toThrow(/holds 5 bytes, not 32/);
    expect(await readFile(path.join(dir, HASH_KEY_FILE), 'utf8')).toBe('short');
  });
});
