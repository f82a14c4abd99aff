// The audit's tail cannot be cut unseen, as an auditor sees it from the CLI: verify reports the last signed
// checkpoint; an export verifies offline and fails when its tail is cut or a signature is tampered; deleting the
// newest events from the store makes `agentdb audit verify` fail, naming the checkpoint.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { agentdb, loginAgent, loginAlice, startProxyCli, startTestCluster, type TestCluster } from '../helpers/cluster.js';

const EVERY = 4;

let tc: TestCluster;
let alice: string;
let agent: string;

beforeAll(async () => {
  tc = await startTestCluster('audit-tail', (config) => {
    config.audit.checkpointEvery = EVERY;
  });
  alice = await tc.newHome();
  await loginAlice(tc, alice);
  agent = await tc.newHome();
  await loginAgent(tc, agent);
  const { proc, ready } = await startProxyCli(agent, ['--db', 'customers', '--task', 'audit tail test']);
  try {
    const client = new pg.Client({ connectionString: ready.url });
    await client.connect();
    for (let i = 0; i < 6; i++) await client.query('SELECT $1::int AS n', [i]);
    await client.end();
  } finally {
    await proc.stop();
  }
});
afterAll(async () => {
  await tc?.close();
});

async function write(name: string, lines: string[]): Promise<string> {
  const file = path.join(alice, name);
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

describe('agentdb audit', () => {
  let exportLines: string[] = [];
  let keyFile = '';

  test('verify reports the last signed checkpoint and the signing key', async () => {
    const r = await agentdb(alice, ['audit', 'verify']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Audit log intact: \d+ events/);
    expect(r.stdout).toMatch(/Last signed checkpoint: \S+, covers \d+ events \(head [0-9a-f]{16}…\)/);
    const key = await agentdb(alice, ['audit', 'public-key']);
    expect(key.code, key.stderr).toBe(0);
    expect(key.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const keyId = key.stderr.trim();
    expect(keyId).toMatch(/^SHA256:[0-9a-f]{64}$/);
    expect(r.stdout).toContain(`Signing key: ${keyId}`);
    keyFile = path.join(alice, 'audit.pub');
    await writeFile(keyFile, key.stdout);
  });

  test('export (jsonl and ocsf) verifies offline, with the key pinned or embedded', async () => {
    const r = await agentdb(alice, ['audit', 'export', '--since', '1h']);
    expect(r.code, r.stderr).toBe(0);
    exportLines = r.stdout.trimEnd().split('\n');
    expect(exportLines.filter((l) => l.includes('"type":"db.session.query"')).length).toBeGreaterThanOrEqual(6);
    expect(JSON.parse(exportLines.at(-1)!)).toMatchObject({ type: 'audit.checkpoint', checkpoint: { kind: 'export' } });
    const file = await write('export.jsonl', exportLines);
    const pinned = await agentdb(alice, ['audit', 'verify', '--file', file, '--public-key', keyFile]);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stdout).toMatch(/Export intact: \d+ events.*\n[\s\S]*pinned with --public-key/);
    const embedded = await agentdb(alice, ['audit', 'verify', '--file', file]);
    expect(embedded.code, embedded.stderr).toBe(0);
    expect(embedded.stdout).toMatch(/embedded in the export, not pinned/);

    const ocsf = await agentdb(alice, ['audit', 'export', '--format', 'ocsf']);
    expect(ocsf.code, ocsf.stderr).toBe(0);
    expect(JSON.parse(ocsf.stdout.split('\n')[0]!)).toMatchObject({ class_uid: 6003 });
    const ocsfFile = await write('export.ocsf.jsonl', ocsf.stdout.trimEnd().split('\n'));
    expect((await agentdb(alice, ['audit', 'verify', '--file', ocsfFile, '--public-key', keyFile])).code).toBe(0);
  });

  test('export is for auditors only: an agent is refused with exit code 4', async () => {
    const r = await agentdb(agent, ['audit', 'export']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/holds no role that may read the audit log/);
    expect(r.stdout).toBe('');
  });

  test('an export whose tail was cut, or whose checkpoint signature was tampered, fails', async () => {
    const cut = await agentdb(alice, ['audit', 'verify', '--file', await write('cut.jsonl', exportLines.slice(0, -3))]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/fails verification: the export ends without its closing checkpoint: its tail was cut/);

    const last = JSON.parse(exportLines.at(-1)!) as { checkpoint: { signature: string } };
    last.checkpoint.signature = Buffer.from(last.checkpoint.signature, 'base64').reverse().toString('base64');
    const forged = await agentdb(alice, ['audit', 'verify', '--file', await write('forged.jsonl', [...exportLines.slice(0, -1), JSON.stringify(last)])]);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/checkpoint signed at \S+ is not valid: its signature does not match/);
  });

  test('deleting the newest events from the store makes verify fail, naming the checkpoint', async () => {
    const before = await agentdb(alice, ['audit', 'verify']);
    const covered = Number(/covers (\d+) events/.exec(before.stdout)![1]);
    // Keep fewer events than the checkpoint covers: rows are numbered from 1 in chain order.
    const db = new DatabaseSync(path.join(tc.dataDir, 'agentdb.db'));
    try {
      db.prepare('DELETE FROM audit WHERE seq >= ?').run(covered);
    } finally {
      db.close();
    }
    const r = await agentdb(alice, ['audit', 'verify']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`audit log broken after ${covered - 1} events: the checkpoint signed at \\S+ covers events up to [0-9a-f]{16}…, which the log no longer holds`));
  });
});
