// Shared by the audit tests: real sqlite stores in a temp directory and sample events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll } from 'vitest';
import type { AuditEventInput } from '../../src/audit/index.js';
import { openSqliteStore, type Store } from '../../src/store/index.js';

export function tempStores(): { open: () => Promise<{ store: Store; file: string }> } {
  const root = mkdtempSync(join(tmpdir(), 'agentdb-audit-'));
  const opened: Store[] = [];
  let n = 0;
  afterAll(async () => {
    for (const s of opened) await s.close();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    open: async () => {
      const file = join(root, `s${n++}.db`);
      const store = await openSqliteStore(file);
      opened.push(store);
      return { store, file };
    },
  };
}

/** Runs SQL on the store's file through a second connection, as someone editing it by hand would. */
export function tamper(file: string, sql: string, ...params: (string | number | null)[]): void {
  const db = new DatabaseSync(file);
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

export function queryEvent(n: number, over: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    type: 'db.session.query',
    sid: 'sid-1',
    identity: { name: 'order-processing-agent', kind: 'agent', roles: ['support'] },
    task: { id: 'T-1', reason: 'check refunds', requester: 'alice' },
    db: { service: 'customers', name: 'customers', user: 'order_agent' },
    client: { addr: '127.0.0.1:50000', app: 'psql' },
    statement: { sql: `SELECT ${n}`, kind: 'select', tables: [], decision: 'allow' },
    result: { rows: 1, ms: 0.5 },
    ...over,
  };
}

/** A store whose appendAudit calls are counted (and can be delayed); everything else goes straight to the real store. */
export function countingStore(store: Store, delayMs = 0): { store: Store; calls: number[] } {
  const calls: number[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'appendAudit') {
        return async (records: Parameters<Store['appendAudit']>[0]) => {
          calls.push(records.length);
          // The write happens now; the answer comes back after delayMs, like a remote database's.
          const written = target.appendAudit(records);
          written.catch(() => undefined); // handled by the caller after the delay
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          return written;
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, calls };
}

/** A real failure inside SQLite, switched by the kv setting 'fail' (true/false): a trigger that aborts inserts. */
export function installFailSwitch(file: string): void {
  tamper(
    file,
    `CREATE TRIGGER audit_fail_switch BEFORE INSERT ON audit
     WHEN (SELECT value FROM kv WHERE key = 'fail') = 'true'
     BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`,
  );
}
