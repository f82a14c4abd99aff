// A gateway killed -9 (or a lost machine) never writes db.session.end for the sessions it had open. At the next
// start of the same gateway those sessions are closed in the audit log with reason `gateway-restart`, so that
// every session in the log has an end and a search for open sessions does not show ones long dead.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AuditEvent, AuditLog } from '../audit/index.js';
import { MAX_AUDIT_LIMIT, type Store } from '../store/index.js';

export const GATEWAY_RESTART_REASON = 'gateway-restart';
/** The file in the data dir that names this gateway (several gateways may share one store). */
export const GATEWAY_ID_FILE = 'gateway.id';

/** This gateway's id, made on first start and kept in its data dir. */
export async function gatewayInstance(dataDir: string): Promise<string> {
  const file = path.join(dataDir, GATEWAY_ID_FILE);
  const existing = await readFile(file, 'utf8').then((t) => t.trim(), () => '');
  if (existing) return existing;
  const id = randomUUID();
  await writeFile(file, id + '\n', { mode: 0o600 });
  return id;
}

/** The store's record of when this gateway last started: sessions it left open began after that. */
const runKey = (instance: string) => `gateway.run.${instance}`;

/**
 * Writes db.session.end (reason `gateway-restart`) for each session this gateway started since its previous
 * start and never ended, then records this start. Runs before the gateway listens, so no live session is among
 * them. Sessions from before this feature carry no gateway id and are left alone: whose they were is unknown.
 */
export async function closeSessionsLeftOpen(store: Store, audit: AuditLog, instance: string): Promise<number> {
  const now = new Date();
  const previous = (await store.getKv(runKey(instance))) as { startedAt?: string } | undefined;
  const since = previous?.startedAt ? new Date(previous.startedAt) : undefined;
  const started = (await eventsSince(audit, 'db.session.start', since, now)).filter(
    (e) => e.sid !== undefined && e.result?.error === undefined && e.details?.gateway === instance,
  );
  let closed = 0;
  if (started.length > 0) {
    const ended = new Set((await eventsSince(audit, 'db.session.end', since, now)).map((e) => e.sid));
    const open = started.filter((e) => !ended.has(e.sid));
    if (open.length > 0) {
      await audit.write(open.map((e) => ({
        type: 'db.session.end' as const,
        sid: e.sid!,
        ...(e.identity ? { identity: e.identity } : {}),
        ...(e.task ? { task: e.task } : {}),
        ...(e.db ? { db: e.db } : {}),
        ...(e.client ? { client: e.client } : {}),
        message: GATEWAY_RESTART_REASON,
        details: { gateway: instance, startedAt: e.time },
      })));
      closed = open.length;
    }
  }
  await store.putKv(runKey(instance), { startedAt: now.toISOString() });
  return closed;
}

/** Every event of `type` in [since, until], read a page at a time (a page ends where the next begins: by time, deduplicated). */
async function eventsSince(audit: AuditLog, type: AuditEvent['type'], since: Date | undefined, until: Date): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  const seen = new Set<string>();
  let from = since;
  for (;;) {
    const page = await audit.search({ type, ...(from ? { since: from } : {}), until, limit: MAX_AUDIT_LIMIT });
    let fresh = 0;
    for (const e of page) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      out.push(e);
      fresh++;
    }
    if (page.length < MAX_AUDIT_LIMIT || fresh === 0) return out;
    from = new Date(page.at(-1)!.time);
  }
}
