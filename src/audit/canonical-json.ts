import { AuditError, AuditErrorCode } from './errors.js';

// The hash chain is only as good as the byte form it hashes: one value must have exactly one text.
// Hence sorted keys, no whitespace, and a refusal (not a silent drop) for what JSON cannot say.

function notJson(message: string): AuditError {
  return new AuditError(AuditErrorCode.NOT_JSON, `an audit event must be plain JSON: ${message}`);
}

/** Encodes one value; undefined means "leave this member out". */
function encode(v: unknown, ancestors: Set<object>, where: string): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw notJson(`${where} is ${v}, which JSON cannot represent`);
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return undefined;
    case 'object':
      break;
    default:
      throw notJson(`${where} is a ${typeof v}`);
  }
  if (v === null) return 'null';
  const frozen = Object.isFrozen(v);
  if (frozen) {
    const known = frozenTexts.get(v);
    if (known !== undefined) return known;
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    return encode((v as { toJSON: () => unknown }).toJSON(), ancestors, where);
  }
  if (ancestors.has(v)) throw notJson(`${where} refers to itself`);
  ancestors.add(v);
  let out: string;
  if (Array.isArray(v)) {
    // As in JSON.stringify, a hole or undefined inside an array is null: positions carry meaning.
    out = `[${v.map((x, i) => encode(x, ancestors, `${where}[${i}]`) ?? 'null').join(',')}]`;
  } else {
    out = `{${canonicalMembers(v as Record<string, unknown>, { ancestors, where }).join(',')}}`;
  }
  ancestors.delete(v);
  if (frozen && deeplyFrozen(v)) frozenTexts.set(v, out);
  return out;
}

// Events use a few dozen keys over and over; each is quoted once.
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 1024;

function quotedKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, q);
  }
  return q;
}

// What cannot change is encoded once: the gateway stamps every event of a session with the same frozen
// identity, task, database and client objects.
const frozenTexts = new WeakMap<object, string>();

function deeplyFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (!Object.isFrozen(v)) return false;
  for (const x of Object.values(v)) if (!deeplyFrozen(x)) return false;
  return true;
}

export interface MemberOptions {
  ancestors?: Set<object>;
  /** how error messages name the object */
  where?: string;
  /** a key to leave out, as if it were undefined */
  skipKey?: string;
  /** receives the keys of the returned members, in the same order */
  keysOut?: string[];
}

/**
 * The `"key":value` members of an object in canonical order (keys sorted by UTF-16 code units),
 * undefined members left out. Exposed so the chain can add `hash` without encoding the event twice.
 */
export function canonicalMembers(obj: Record<string, unknown>, opts: MemberOptions = {}): string[] {
  const ancestors = opts.ancestors ?? new Set<object>();
  const where = opts.where ?? 'the event';
  const members: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    if (key === opts.skipKey) continue;
    const value = encode(obj[key], ancestors, `${where}.${key}`);
    if (value === undefined) continue;
    members.push(`${quotedKey(key)}:${value}`);
    opts.keysOut?.push(key);
  }
  return members;
}

/** One member's value as canonical text (undefined: leave the member out); `where` names it in errors. */
export function canonicalValue(v: unknown, where: string): string | undefined {
  // A session's frozen stamps are found here without setting up a walk.
  if (typeof v === 'object' && v !== null && Object.isFrozen(v)) {
    const known = frozenTexts.get(v);
    if (known !== undefined) return known;
  }
  return encode(v, new Set(), where);
}

/** Deterministic JSON: sorted keys, no whitespace, undefined members dropped. */
export function canonicalJson(v: unknown): string {
  const text = encode(v, new Set(), 'the value');
  if (text === undefined) throw notJson('the value is undefined');
  return text;
}
