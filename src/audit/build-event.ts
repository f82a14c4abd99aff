import { auditRecordOf, type AuditRecord } from '../store/index.js';
import { sealEvent } from './chain.js';
import { newEventId } from './event-id.js';
import { auditCode, isAuditEventType } from './codes.js';
import { AuditError, AuditErrorCode } from './errors.js';
import type { AuditEvent, AuditEventInput } from './event.js';

// Checks what a submitter hands in, so a malformed event fails at submit (one clear error) rather
// than being chained and stored. Kept to typeof tests: this runs once per statement.

function bad(message: string): AuditError {
  return new AuditError(AuditErrorCode.BAD_EVENT, `bad audit event: ${message}`);
}

type Check = (v: unknown, where: string) => void;

const str: Check = (v, where) => {
  if (typeof v !== 'string') throw bad(`${where} must be a string`);
};
const num: Check = (v, where) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${where} must be a finite number`);
};
const optional =
  (check: Check): Check =>
  (v, where) => {
    if (v !== undefined) check(v, where);
  };
const oneOf =
  (...allowed: string[]): Check =>
  (v, where) => {
    if (typeof v !== 'string' || !allowed.includes(v)) throw bad(`${where} must be one of ${allowed.join(', ')}`);
  };
const arrayOf =
  (check: Check): Check =>
  (v, where) => {
    if (!Array.isArray(v)) throw bad(`${where} must be an array`);
    v.forEach((x, i) => check(x, `${where}[${i}]`));
  };
const stringOrNull: Check = (v, where) => {
  if (v !== null && typeof v !== 'string') throw bad(`${where} must be a string or null`);
};
const object = (fields: Record<string, Check>): Check => {
  // Listed once, and each field's name built only for an error: this runs for every statement's event.
  const entries = Object.entries(fields);
  return (v, where) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${where} must be an object`);
    for (const [key, check] of entries) check((v as Record<string, unknown>)[key], where + '.' + key);
  };
};
const plainObject: Check = (v, where) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${where} must be an object`);
};

const INPUT_FIELDS: Record<string, Check> = {
  type: () => undefined, // checked first, with its own message
  time: optional(str),
  code: optional((v, where) => {
    if (typeof v !== 'string' || v === '') throw bad(`${where} must be a non-empty string`);
  }),
  sid: optional(str),
  identity: optional(object({ name: str, kind: oneOf('human', 'agent', 'bot'), roles: arrayOf(str) })),
  task: optional(object({ id: str, reason: str, requester: str })),
  db: optional(object({ service: str, name: str, user: str })),
  client: optional(object({ addr: str, app: optional(str) })),
  statement: optional(
    object({
      sql: str,
      params: optional(arrayOf(stringOrNull)),
      kind: optional(str),
      tables: optional(arrayOf(str)),
      decision: oneOf('allow', 'deny', 'review'),
      rule: optional(str),
    }),
  ),
  result: optional(
    object({
      rows: optional(num),
      bytes: optional(num),
      error: optional(object({ code: str, message: str })),
      ms: optional(num),
    }),
  ),
  message: optional(str),
  details: optional(plainObject),
};

function checkInput(input: AuditEventInput): void {
  if (typeof input !== 'object' || input === null) throw bad('an event must be an object');
  if (!isAuditEventType(input.type)) throw bad(`unknown type ${JSON.stringify(input.type) ?? 'undefined'}`);
  for (const key of Object.keys(input)) {
    const check = Object.hasOwn(INPUT_FIELDS, key) ? INPUT_FIELDS[key] : undefined;
    if (check === undefined) throw bad(`unknown field "${key}" (a ${input.type} event has no such field)`);
    check((input as unknown as Record<string, unknown>)[key], key);
  }
}

// Events come many to a millisecond under load: the time's text is made once per millisecond.
let lastMs = -1;
let lastIso = '';

function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

function eventTime(given: string | undefined, now: number): string {
  if (given === undefined) return isoAt(now);
  const ms = Date.parse(given);
  if (Number.isNaN(ms)) throw bad(`time ${JSON.stringify(given)} is not an ISO 8601 time`);
  // One form (UTC, milliseconds) so stored times compare as text.
  return new Date(ms).toISOString();
}

/** The columns a store indexes, taken from a sealed event. */
export function toAuditRecord(event: AuditEvent, json: string): AuditRecord {
  return auditRecordOf(event, json);
}

/** Checks an input and makes the chained event and its store record. */
export function buildEvent(input: AuditEventInput, prevHash: string): { event: AuditEvent; record: AuditRecord } {
  checkInput(input);
  const now = Date.now();
  const unsealed: Omit<AuditEvent, 'hash'> = {
    ...input,
    id: newEventId(now),
    time: eventTime(input.time, now),
    code: input.code ?? auditCode(input.type, input),
    prevHash,
  };
  const { event, json } = sealEvent(unsealed);
  return { event, record: toAuditRecord(event, json) };
}
