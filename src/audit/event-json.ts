// The canonical JSON of an audit event written member by member in the order canonical-json.ts sorts them,
// instead of through the generic encoder: this runs once per statement on the relay thread, where sorting the
// keys and collecting members was most of what sealing an event cost. The text is byte for byte the generic
// encoder's (test/unit/audit-event-json.test.ts checks it on generated events), so the chain, the store,
// verify and exports do not know this exists; anything outside the event's known shape takes the generic path.
import { canonicalValue } from './canonical-json.js';
import type { AuditEvent } from './event.js';

type Unsealed = Omit<AuditEvent, 'hash'>;

/**
 * The members of an event, in canonical order, split where `hash` and `prevHash` go: `head` sorts before
 * "hash" (client, code, db, details), `middle` between "hash" and "prevHash" (id, identity, message), `tail`
 * after "prevHash" (result, sid, statement, task, time, type). Each is a comma-joined list, maybe empty.
 */
export interface EventMembers {
  head: string;
  middle: string;
  tail: string;
}

// Every top-level key an event may have (build-event.ts refuses others), `hash` included: it is left out.
const EVENT_KEYS = new Set(['client', 'code', 'db', 'details', 'hash', 'id', 'identity', 'message', 'prevHash', 'result', 'sid', 'statement', 'task', 'time', 'type']);
const STATEMENT_KEYS = new Set(['decision', 'kind', 'params', 'rule', 'sql', 'tables']);

function add(list: string, key: string, text: string | undefined): string {
  if (text === undefined) return list;
  return list === '' ? `"${key}":${text}` : `${list},"${key}":${text}`;
}

/** A top-level value: strings (nearly all of them) directly, anything else as the generic encoder has it. */
function value(v: unknown, key: string): string | undefined {
  if (typeof v === 'string') return JSON.stringify(v);
  return canonicalValue(v, `the event.${key}`);
}

/** A plain, unfrozen object with no toJSON: the only kind encoded here (frozen ones are cached by the generic encoder). */
function plain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.isFrozen(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** `["a","b"]` for a dense array of strings (nulls too when `nulls`); undefined when it is anything else. */
function strings(v: unknown, nulls: boolean): string | undefined {
  if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype || typeof (v as { toJSON?: unknown }).toJSON === 'function') return undefined;
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    let text: string;
    if (typeof x === 'string') text = JSON.stringify(x);
    else if (x === null && nulls) text = 'null';
    else return undefined;
    out = i === 0 ? text : `${out},${text}`;
  }
  return `[${out}]`;
}

/** The statement member, the one object made fresh for every event: by hand when it has the usual shape. */
function statement(s: unknown): string | undefined {
  if (!plain(s)) return canonicalValue(s, 'the event.statement');
  for (const k of Object.keys(s)) if (!STATEMENT_KEYS.has(k)) return canonicalValue(s, 'the event.statement');
  const { decision, kind, params, rule, sql, tables } = s;
  for (const t of [decision, kind, rule, sql]) if (t !== undefined && typeof t !== 'string') return canonicalValue(s, 'the event.statement');
  const paramsText = params === undefined ? undefined : strings(params, true);
  const tablesText = tables === undefined ? undefined : strings(tables, false);
  if ((params !== undefined && paramsText === undefined) || (tables !== undefined && tablesText === undefined)) return canonicalValue(s, 'the event.statement');
  let out = '';
  out = add(out, 'decision', decision === undefined ? undefined : JSON.stringify(decision));
  out = add(out, 'kind', kind === undefined ? undefined : JSON.stringify(kind));
  out = add(out, 'params', paramsText);
  out = add(out, 'rule', rule === undefined ? undefined : JSON.stringify(rule));
  out = add(out, 'sql', sql === undefined ? undefined : JSON.stringify(sql));
  out = add(out, 'tables', tablesText);
  return `{${out}}`;
}

/** The event's members around `hash` and `prevHash`, or undefined when it has a key outside the event's shape. */
export function eventMembers(e: Unsealed): EventMembers | undefined {
  for (const k of Object.keys(e)) if (!EVENT_KEYS.has(k)) return undefined;
  let head = add('', 'client', value(e.client, 'client'));
  head = add(head, 'code', value(e.code, 'code'));
  head = add(head, 'db', value(e.db, 'db'));
  head = add(head, 'details', value(e.details, 'details'));
  let middle = add('', 'id', value(e.id, 'id'));
  middle = add(middle, 'identity', value(e.identity, 'identity'));
  middle = add(middle, 'message', value(e.message, 'message'));
  let tail = add('', 'result', value(e.result, 'result'));
  tail = add(tail, 'sid', value(e.sid, 'sid'));
  tail = add(tail, 'statement', e.statement === undefined ? undefined : statement(e.statement));
  tail = add(tail, 'task', value(e.task, 'task'));
  tail = add(tail, 'time', value(e.time, 'time'));
  tail = add(tail, 'type', value(e.type, 'type'));
  return { head, middle, tail };
}

/** `{...}` of the given member lists, skipping empty ones. */
export function joinMembers(...lists: string[]): string {
  let out = '';
  for (const l of lists) if (l !== '') out = out === '' ? l : `${out},${l}`;
  return `{${out}}`;
}
