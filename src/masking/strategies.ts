// What a masked value becomes. Every strategy is a pure function of (value, key): the same input always gives
// the same output, so a result is stable across queries and the hash strategy keeps joins and GROUP BY working.
import { createHmac } from 'node:crypto';
import type { StrategyConfig } from './config.js';

export type Strategy =
  | { readonly kind: 'redact' }
  | { readonly kind: 'partial'; readonly keep: number }
  | { readonly kind: 'email' }
  | { readonly kind: 'hash' }
  | { readonly kind: 'null' };

/**
 * The placeholder of `redact`: fixed, so it says nothing about the value, not even its length. Three
 * asterisks need no quoting in COPY text/CSV, in array literals or in JSON strings.
 */
export const REDACTED = '***';
const HASH_PREFIX = 'h:';
const HASH_HEX_CHARS = 16;
const DEFAULT_PARTIAL_KEEP = 4;

export const REDACT: Strategy = Object.freeze({ kind: 'redact' });
export const NULL_STRATEGY: Strategy = Object.freeze({ kind: 'null' });

export function strategyFromConfig(config: StrategyConfig): Strategy {
  if (typeof config === 'object') return Object.freeze({ kind: 'partial', keep: config.partial });
  if (config === 'partial') return Object.freeze({ kind: 'partial', keep: DEFAULT_PARTIAL_KEEP });
  return Object.freeze({ kind: config });
}

/**
 * The masked form of a value, or null for SQL NULL.
 * - redact: '***'
 * - partial N: the last N characters stay, every other character becomes '*', so the length stays (the
 *   familiar '************1111' of a card). Never more than half of the value is kept: partial 4 of a 5
 *   character value keeps 2, so a short value is not given away whole.
 * - email: '***@' and the domain after the last '@'; a value with no domain is redacted.
 * - hash: 'h:' + the first 16 hex digits of HMAC-SHA256(key, value): equal values give equal outputs (joins
 *   and GROUP BY still work), and without the key nobody can test a guess against it.
 * - null: SQL NULL.
 */
export function maskText(strategy: Strategy, value: string, key: Buffer): string | null {
  switch (strategy.kind) {
    case 'redact':
      return REDACTED;
    case 'null':
      return null;
    case 'partial':
      return keepLast(value, strategy.keep);
    case 'email': {
      const at = value.lastIndexOf('@');
      const domain = at >= 0 ? value.slice(at + 1).trim() : '';
      return domain === '' ? REDACTED : `${REDACTED}@${domain}`;
    }
    case 'hash':
      return HASH_PREFIX + createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, HASH_HEX_CHARS);
  }
}

function keepLast(value: string, keep: number): string {
  // Code points, not UTF-16 units: cutting a surrogate pair would turn a character into U+FFFD.
  const chars = Array.from(value);
  const kept = Math.min(keep, Math.floor(chars.length / 2));
  return '*'.repeat(chars.length - kept) + chars.slice(chars.length - kept).join('');
}

// How much of a value a strategy gives away; when two roles mask one column differently, the one that gives
// away least wins. email and partial reveal different parts of a value, so their meeting point is redact.
const REVEALS: Readonly<Record<Strategy['kind'], number>> = { null: 0, redact: 1, hash: 2, email: 3, partial: 3 };

export function strictestStrategy(a: Strategy, b: Strategy): Strategy {
  if (a.kind === 'partial' && b.kind === 'partial') return a.keep <= b.keep ? a : b;
  if (a.kind === b.kind) return a;
  const ra = REVEALS[a.kind];
  const rb = REVEALS[b.kind];
  if (ra === rb) return REDACT;
  return ra < rb ? a : b;
}

export function describeStrategy(s: Strategy): string {
  return s.kind === 'partial' ? `partial ${s.keep}` : s.kind;
}
