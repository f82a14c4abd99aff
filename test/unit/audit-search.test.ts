import { beforeAll, describe, expect, test } from 'vitest';
import { AuditError, AuditLog, type AuditEvent, type AuditEventInput } from '../../src/audit/index.js';
import { queryEvent, tempStores } from './audit-fixtures.js';
import { rejected } from '../helpers/expect-coded.js';

const stores = tempStores();
let log: AuditLog;
let events: AuditEvent[];

const alice = { name: 'alice', kind: 'human' as const, roles: ['dev'] };
const bot = { name: 'ci-bot', kind: 'bot' as const, roles: ['etl'] };
const refunds = { id: 'T-100', reason: 'Check Refunds for June', requester: 'alice' };
const exportTask = { id: 'T-200', reason: 'nightly export', requester: 'ci' };
const customers = { service: 'customers', name: 'customers', user: 'order_agent' };
const billing = { service: 'billing', name: 'billing', user: 'etl' };
const at = (minute: number): string => new Date(Date.UTC(2025, 5, 15, 14, minute)).toISOString();

const inputs: AuditEventInput[] = [
  { type: 'login', time: at(0), identity: alice },
  { ...queryEvent(0), type: 'db.session.start', time: at(1), sid: 's-a', identity: alice, task: refunds, db: customers, statement: undefined, result: undefined },
  { ...queryEvent(0), time: at(2), sid: 's-a', identity: alice, task: refunds, db: customers, statement: { sql: "SELECT * FROM Orders WHERE region = 'us-east-1'", decision: 'allow' } },
  { ...queryEvent(0), type: 'db.session.denied', time: at(3), sid: 's-a', identity: alice, task: refunds, db: customers, statement: { sql: 'DROP TABLE orders', decision: 'deny', rule: 'no-ddl' } },
  { ...queryEvent(0), time: at(4), sid: 's-b', identity: bot, task: exportTask, db: billing, statement: { sql: 'select count(*) from invoices', decision: 'allow' } },
  { ...queryEvent(0), type: 'db.session.end', time: at(5), sid: 's-a', identity: alice, task: refunds, db: customers, statement: undefined, result: undefined },
  { type: 'lock.created', time: at(6), message: 'locked ci-bot', details: { target: 'ci-bot' } },
];

/** Indexes into `events` of what a search returned. */
async function found(q: Parameters<AuditLog['search']>[0]): Promise<number[]> {
  const res = await log.search(q);
  return res.map((e) => events.findIndex((x) => x.id === e.id));
}

beforeAll(async () => {
  const { store } = await stores.open();
  log = await AuditLog.open(store);
  events = await log.write(inputs);
});

describe('AuditLog.search', () => {
  test('gives back whole events, equal to what was written', async () => {
    const res = await log.search({});
    expect(res).toEqual(JSON.parse(JSON.stringify(events)));
  });
  test('by user', async () => {
    expect(await found({ user: 'alice' })).toEqual([0, 1, 2, 3, 5]);
    expect(await found({ user: 'ci-bot' })).toEqual([4]);
    expect(await found({ user: 'nobody' })).toEqual([]);
  });
  test('by db service', async () => {
    expect(await found({ db: 'billing' })).toEqual([4]);
    expect(await found({ db: 'customers' })).toEqual([1, 2, 3, 5]);
  });
  test('by task id', async () => {
    expect(await found({ task: 'T-200' })).toEqual([4]);
    expect(await found({ task: 'T-100' })).toEqual([1, 2, 3, 5]);
  });
  test('by task text, case-insensitive', async () => {
    expect(await found({ task: 'refunds' })).toEqual([1, 2, 3, 5]);
    expect(await found({ task: 'NIGHTLY EXP' })).toEqual([4]);
    expect(await found({ task: 'weekly' })).toEqual([]);
  });
  test('by session id', async () => {
    expect(await found({ sid: 's-a' })).toEqual([1, 2, 3, 5]);
    expect(await found({ sid: 's-b' })).toEqual([4]);
  });
  test('by type, exact or prefix', async () => {
    expect(await found({ type: 'db.session.query' })).toEqual([2, 4]);
    expect(await found({ type: 'db.session.*' })).toEqual([1, 2, 3, 4, 5]);
    expect(await found({ type: 'lock.*' })).toEqual([6]);
    expect(await found({ type: 'login' })).toEqual([0]);
  });
  test('by time: since and until', async () => {
    expect(await found({ since: new Date(at(4)) })).toEqual([4, 5, 6]);
    expect(await found({ until: new Date(at(1)) })).toEqual([0, 1]);
    expect(await found({ since: new Date(at(2)), until: new Date(at(3)) })).toEqual([2, 3]);
  });
  test('by a substring of the SQL, case-insensitive', async () => {
    expect(await found({ query: 'from orders' })).toEqual([2]);
    expect(await found({ query: 'ORDERS' })).toEqual([2, 3]);
    expect(await found({ query: 'invoices' })).toEqual([4]);
  });
  test('limit and order', async () => {
    expect(await found({ limit: 3 })).toEqual([0, 1, 2]);
    expect(await found({ order: 'desc', limit: 2 })).toEqual([6, 5]);
    expect(await found({ user: 'alice', order: 'desc' })).toEqual([5, 3, 2, 1, 0]);
  });
  test('filters combine', async () => {
    expect(await found({ user: 'alice', type: 'db.session.*', query: 'drop' })).toEqual([3]);
    expect(await found({ task: 'refunds', db: 'billing' })).toEqual([]);
  });
  test('a bad query is AGENTDB_ERR_AUDIT_BAD_QUERY with a message that says what is wrong', async () => {
    for (const q of [{ limit: 0 }, { type: 'db.*.end' }, { since: new Date('garbage') }, { order: 'sideways' as 'asc' }]) {
      await rejected(AuditError, log.search(q), 'AGENTDB_ERR_AUDIT_BAD_QUERY', /audit search/);
    }
  });
});
