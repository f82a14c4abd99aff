// Signed checkpoints: a cut tail of the stored log, and of an export, fails verification naming the checkpoint.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  AuditLog, CHECKPOINT_KEY_FILE, exportLine, loadOrCreateCheckpointKey, verifyExport, type CheckpointSigner, type ExportFormat,
} from '../../src/audit/index.js';
import { checkpointFault, signerFromKey } from '../../src/audit/checkpoint.js';
import { queryEvent, tamper, tempStores } from './audit-fixtures.js';

const stores = tempStores();
const signer = signerFromKey(generateKeyPairSync('ed25519').privateKey);

async function* linesOf(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

async function logWith(events: number, every: number, s: CheckpointSigner = signer) {
  const { store, file } = await stores.open();
  const log = await AuditLog.open(store, { checkpoint: { signer: s, every } });
  for (let i = 0; i < events; i++) await log.write([queryEvent(i)]);
  return { store, file, log };
}

async function exported(log: AuditLog, format: ExportFormat = 'jsonl', since?: Date): Promise<string[]> {
  const lines: string[] = [];
  for await (const item of log.exportItems(since)) lines.push(exportLine(item, format, signer.publicKeyPem));
  return lines;
}

describe('checkpoint signatures', () => {
  test('a signed checkpoint verifies; an edited one, or one checked with another key, does not', () => {
    const cp = signer.sign({ kind: 'log', headHash: 'a'.repeat(64) });
    expect(checkpointFault(cp, signer.publicKeyPem)).toBeUndefined();
    expect(checkpointFault({ ...cp, headHash: 'b'.repeat(64) }, signer.publicKeyPem)).toMatch(/signature does not match/);
    const other = signerFromKey(generateKeyPairSync('ed25519').privateKey);
    expect(checkpointFault(cp, other.publicKeyPem)).toMatch(/signed by key SHA256:/);
    expect(checkpointFault({ ...cp, keyId: other.keyId }, other.publicKeyPem)).toMatch(/signature does not match/);
  });

  test('the key is created 0600 in the data directory and loaded again after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentdb-cpkey-'));
    const a = await loadOrCreateCheckpointKey(dir);
    expect(statSync(join(dir, CHECKPOINT_KEY_FILE)).mode & 0o777).toBe(0o600);
    const b = await loadOrCreateCheckpointKey(dir);
    expect(b.keyId).toBe(a.keyId);
    expect(a.keyId).toMatch(/^SHA256:[0-9a-f]{64}$/);
  });
});

describe('the stored log', () => {
  test('checkpoints every N events and on close; verify reports the last one', async () => {
    const { store, log } = await logWith(25, 10);
    let r = await log.verify();
    expect(r.ok).toBe(true);
    expect(r.checkpoint?.events).toBe(20);
    await log.close();
    const reopened = await AuditLog.open(store, { checkpoint: { signer, every: 10 } });
    r = await reopened.verify();
    expect(r).toMatchObject({ ok: true, count: 25, keyId: signer.keyId, checkpoint: { events: 25 } });
  });

  test('deleting the newest events fails verify, naming the checkpoint', async () => {
    const { store, file, log } = await logWith(12, 5);
    await log.close();
    tamper(file, 'DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit)');
    const r = await (await AuditLog.open(store, { checkpoint: { signer, every: 5 } })).verify();
    expect(r.ok).toBe(false);
    expect(r.count).toBe(9);
    expect(r.broken?.reason).toMatch(/the checkpoint signed at \S+ covers events up to .*no longer holds: events after event #8 were cut/);
  });

  test('a restart after the cut signs nothing over it: more events later, verify still fails', async () => {
    const { store, file, log } = await logWith(8, 4);
    await log.close();
    tamper(file, 'DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)');
    const errors: Error[] = [];
    const reopened = await AuditLog.open(store, { checkpoint: { signer, every: 4, onError: (e) => errors.push(e) } });
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['AGENTDB_ERR_AUDIT_CUT']);
    for (let i = 0; i < 9; i++) await reopened.write([queryEvent(i)]);
    await reopened.close();
    const r = await (await AuditLog.open(store, { checkpoint: { signer, every: 4 } })).verify();
    expect(r.ok).toBe(false);
    expect(r.broken?.reason).toMatch(/the checkpoint signed at .* no longer holds/);
  });

  test('a restart after a crash signs what the last checkpoint did not cover', async () => {
    const { store, log } = await logWith(6, 4);
    // no close: the last 2 events are not yet signed, as after kill -9
    const reopened = await AuditLog.open(store, { checkpoint: { signer, every: 4 } });
    expect(await reopened.verify()).toMatchObject({ ok: true, count: 6, checkpoint: { events: 6 } });
    void log;
  });

  test('a checkpoint that cannot be stored is reported, loses no event, and the next one is stored', async () => {
    const { store } = await stores.open();
    let failures = 1;
    const flaky = new Proxy(store, {
      get(target, prop) {
        if (prop === 'putKv' && failures > 0) {
          return async () => {
            failures--;
            throw new Error('disk full');
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const errors: string[] = [];
    const log = await AuditLog.open(flaky, { checkpoint: { signer, every: 2, onError: (e) => errors.push((e as { code: string }).code) } });
    for (let i = 0; i < 2; i++) await log.write([queryEvent(i)]);
    await log.flush();
    expect((await log.verify()).checkpoint).toBeUndefined();
    expect(errors).toEqual(['AGENTDB_ERR_AUDIT_CHECKPOINT_FAILED']);
    await log.write([queryEvent(2)]);
    await log.close();
    expect(await log.verify()).toMatchObject({ ok: true, count: 3, checkpoint: { events: 3 } });
  });

  test('a log of N events or more without its checkpoint entry fails: the entry was deleted', async () => {
    const { store, file, log } = await logWith(5, 4);
    await log.close();
    tamper(file, "DELETE FROM kv WHERE key = 'audit.checkpoint'");
    const r = await log.verify();
    expect(r.ok).toBe(false);
    expect(r.broken?.reason).toMatch(/holds 5 events but no signed checkpoint/);
    void store;
  });

  test('events cut back past several checkpoints fail too; without the cut the same store verifies', async () => {
    const { store, file, log } = await logWith(30, 10);
    expect((await log.verify()).ok).toBe(true);
    tamper(file, 'DELETE FROM audit WHERE seq > (SELECT max(seq) - 15 FROM audit)');
    expect((await log.verify()).ok).toBe(false);
    void store;
  });

  test('a checkpoint signed by another key fails verify', async () => {
    const { store, log } = await logWith(6, 3);
    await log.close();
    const other = signerFromKey(generateKeyPairSync('ed25519').privateKey);
    const r = await (await AuditLog.open(store, { checkpoint: { signer: other } })).verify();
    expect(r.ok).toBe(false);
    expect(r.broken?.reason).toMatch(/checkpoint signed at .* is not valid: it was signed by key/);
  });
});

describe('exports', () => {
  test.each(['jsonl', 'ocsf'] as const)('a %s export verifies offline, pinned or with its embedded key', async (format) => {
    const { log } = await logWith(7, 3);
    const lines = await exported(log, format);
    expect(lines).toHaveLength(7 + 1 + 1); // events, the newest log checkpoint (after #6), the export's own
    const embedded = await verifyExport(linesOf(lines));
    expect(embedded).toMatchObject({ ok: true, events: 7, pinned: false, keyId: signer.keyId });
    expect(await verifyExport(linesOf(lines), signer.publicKeyPem)).toMatchObject({ ok: true, pinned: true });
    if (format === 'ocsf') expect(JSON.parse(lines[0]!)).toMatchObject({ class_uid: 6003, activity_id: 2, type_uid: 600302, actor: { user: { name: 'order-processing-agent' } }, metadata: { product: { name: 'agentdb' } } });
  });

  test('an export whose tail was cut fails', async () => {
    const { log } = await logWith(7, 3);
    const lines = await exported(log);
    const noClose = await verifyExport(linesOf(lines.slice(0, -1)));
    expect(noClose.ok).toBe(false);
    expect(noClose.fault).toMatch(/ends without its closing checkpoint: its tail was cut after 7 events; the last checkpoint in it is the log checkpoint signed at/);
    // the last event removed, the closing checkpoint kept
    const cut = await verifyExport(linesOf([...lines.slice(0, -2), lines.at(-1)!]));
    expect(cut.fault).toMatch(/export checkpoint .* covers 7 events, not the 6 before it/);
  });

  test('a tampered signature, another pinned key, an edited event or an appended line fail', async () => {
    const { log } = await logWith(4, 2);
    const lines = await exported(log);
    const last = JSON.parse(lines.at(-1)!) as { checkpoint: { signature: string } };
    last.checkpoint.signature = Buffer.alloc(64).toString('base64');
    expect((await verifyExport(linesOf([...lines.slice(0, -1), JSON.stringify(last)]))).fault).toMatch(/signature does not match/);
    const other = signerFromKey(generateKeyPairSync('ed25519').privateKey);
    expect((await verifyExport(linesOf(lines), other.publicKeyPem)).fault).toMatch(/signed by key/);
    const edited = lines[0]!.replace('SELECT 0', 'SELECT 9');
    expect(edited).not.toBe(lines[0]);
    expect((await verifyExport(linesOf([edited, ...lines.slice(1)]))).fault).toMatch(/line 1 .*does not match its hash/);
    expect((await verifyExport(linesOf([...lines, lines[0]!]))).fault).toMatch(/follows the export's closing checkpoint/);
  });

  test('an export of a store whose tail was cut fails on the stored checkpoint', async () => {
    const { file, log } = await logWith(9, 3);
    tamper(file, 'DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)');
    const r = await verifyExport(linesOf(await exported(log)));
    expect(r.fault).toMatch(/events covered by the log checkpoint signed at .* are missing from the export/);
  });

  test('--since exports the events from then on, and they verify, also when the stored checkpoint is newer than --since but its head older', async () => {
    const { store } = await stores.open();
    const log = await AuditLog.open(store, { checkpoint: { signer, every: 3 } });
    for (let i = 0; i < 3; i++) await log.write([queryEvent(i, { time: '2020-01-01T00:00:00.000Z' })]);
    for (let i = 0; i < 2; i++) await log.write([queryEvent(i)]);
    const lines = await exported(log, 'jsonl', new Date('2021-01-01T00:00:00Z'));
    expect(lines).toHaveLength(2 + 1);
    expect(await verifyExport(linesOf(lines))).toMatchObject({ ok: true, events: 2 });
  });
});
