// The acceptance test of inline masking. Every entry of the leak corpus (test/fixtures/leak-corpus.yaml) runs
// through `agentdb proxy` and the gateway as the masked demo-agent, from real clients: node-postgres on the simple
// protocol, the extended protocol, the extended protocol with binary results and with one row per Execute
// (PortalSuspended), postgres.js, and psql. A TCP
// tee between each client and the proxy keeps every byte the client received. Then every one of those bytes,
// the audit log (sqlite files and the write-ahead journal), the recordings (through `agentdb play` and straight
// from the store) and every other file the server keeps are searched for the planted values in all the forms
// they could leak in. None may be found, and each entry must be refused or answered as the corpus says.
// Two controls prove the search can fail: an unmasked person's session shows the values in the same kind of
// capture, and a marker she writes into the audit log is found by the same store search.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forEachMessage } from '../../src/pgwire/index.js';
import { LEAK_FIXTURES_RULE, loadCorpus, type CorpusEntry } from '../helpers/masking-corpus-runner.js';
import { startByteTee, type Address, type ByteTee } from '../helpers/byte-tee.js';
import { agentdbToFile } from '../helpers/cli-file-output.js';
import { loginAgent, loginAlice, startProxyCli, startTestCluster, type CliProcess, type ProxyReady, type TestCluster } from '../helpers/cluster.js';
import { NodePgClient, PostgresJsClient, PsqlClient, type CorpusClient, type EntryOutcome } from '../helpers/corpus-clients.js';
import { describeHits, findLeaks, leakNeedles, plantedValues } from '../helpers/leak-needles.js';

const TASK = 'leak corpus acceptance';
const corpus = loadCorpus();
const planted = plantedValues(corpus.tokens, [corpus.setup, ...corpus.queries.map((q) => `${q.sql} ${JSON.stringify(q.params ?? [])}`)]);
const needles = leakNeedles(corpus.tokens, planted);
const psqlInstalled = await PsqlClient.available();


let tc: TestCluster;
let agentHome: string;
let aliceHome: string;
let agentProxy: { proc: CliProcess; ready: ProxyReady };
const tees: ByteTee[] = [];
const canary = `AGENTDB-CANARY-${randomUUID()}`;

interface Ran {
  client: string;
  index: number;
  entry: CorpusEntry;
  outcome: EntryOutcome;
}
const ran: Ran[] = [];

beforeAll(async () => {
  tc = await startTestCluster('leaks', (config) => {
    const agent = config.roles['demo-agent']!;
    agent.masking = corpus.masking as unknown as Record<string, unknown>;
    agent.rules = [LEAK_FIXTURES_RULE, ...agent.rules];
    delete agent.budget;
    // A statement held for review by mistake fails in seconds rather than hanging the run.
    agent.review = { databases: agent.review?.databases ?? [], timeout: '3s' };
  });
  const admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  try {
    await admin.query(corpus.setup);
    await admin.query(`
      GRANT SELECT ON leak_people, leak_people_v, leak_people_vv TO app_rw, app_ro;
      GRANT INSERT, UPDATE, DELETE ON leak_people TO app_rw;`);
  } finally {
    await admin.end();
  }
  agentHome = await tc.newHome();
  aliceHome = await tc.newHome();
  await loginAgent(tc, agentHome);
  await loginAlice(tc, aliceHome);
  agentProxy = await startProxyCli(agentHome, ['--db', 'customers', '--task', TASK]);
});

afterAll(async () => {
  for (const t of tees) await t.close();
  await agentProxy?.proc.stop();
  if (ran.length) console.log(summary(ran));
  await tc?.close();
});

async function tee(target: Address): Promise<ByteTee> {
  const t = await startByteTee(target);
  tees.push(t);
  return t;
}

/** The proxy's URL, pointed at the tee instead. */
function urlVia(proxyUrl: string, t: ByteTee): string {
  const u = new URL(proxyUrl);
  u.hostname = t.address.host;
  u.port = String(t.address.port);
  return u.toString();
}

function label(index: number, entry: CorpusEntry): string {
  return `#${index} ${JSON.stringify(entry.sql)}${entry.params ? ` params ${JSON.stringify(entry.params)}` : ''}`;
}

function describeOutcome(o: EntryOutcome): string {
  switch (o.kind) {
    case 'ok':
      return 'success';
    case 'refused':
      return `refused (42501: ${o.message})`;
    case 'error':
      return `error ${o.code}: ${o.message}`;
    case 'lost':
      return `connection failure: ${o.message}`;
  }
}

/** Runs the whole corpus through one client behind its own tee; returns every leak and wrong outcome. */
async function runCorpus(client: CorpusClient, t: ByteTee): Promise<string[]> {
  const problems: string[] = [];
  try {
    for (const [index, entry] of corpus.queries.entries()) {
      const mark = t.mark();
      const outcome = await client.run(entry);
      const where = `${client.name} ${label(index, entry)}`;
      const received = t.since(mark);
      problems.push(...describeHits(`${where}: bytes received`, findLeaks(received, needles)));
      // A masked entry that ran must have sent rows (DataRow or CopyData): the search looked at real results.
      if (entry.expect === 'masked' && outcome.kind === 'ok' && !carriesRows(received)) problems.push(`${where}: no DataRow or CopyData was received`);
      if ('output' in outcome && typeof outcome.output === 'string') {
        // psql prints the client's own statement back ("LINE 1: ...") next to an error: that text is not a leak.
        const shown = outcome.output.split('\n').filter((l) => !/^(LINE \d+:|\s*\^)/.test(l)).join('\n');
        problems.push(...describeHits(`${where}: psql output`, findLeaks(shown, needles)));
      }
      const wanted = entry.expect === 'masked' ? 'ok' : 'refused';
      if (outcome.kind !== wanted) problems.push(`${where}: the corpus expects ${entry.expect}, the client saw ${describeOutcome(outcome)}`);
      ran.push({ client: client.name, index, entry, outcome });
    }
  } finally {
    await client.close();
  }
  return problems;
}

function carriesRows(bytes: Buffer): boolean {
  let rows = false;
  forEachMessage(bytes, (type) => {
    if (type === 0x44 /* D */ || type === 0x64 /* d */) rows = true;
  });
  return rows;
}

/** Outcome counts per client and the rules that refused, for the log. */
function summary(results: readonly Ran[]): string {
  const lines = ['leak corpus outcomes:'];
  const clients = [...new Set(results.map((r) => r.client))];
  for (const c of clients) {
    const mine = results.filter((r) => r.client === c);
    const count = (k: EntryOutcome['kind']) => mine.filter((r) => r.outcome.kind === k).length;
    const rules = new Map<string, number>();
    for (const r of mine) {
      if (r.outcome.kind !== 'refused') continue;
      // A result refused when its columns arrive names no rule: it is masking's too.
      const rule = /\(rule ([^)]+)\)/.exec(r.outcome.message)?.[1] ?? 'masking (result)';
      rules.set(rule, (rules.get(rule) ?? 0) + 1);
    }
    lines.push(`  ${c}: ${mine.length} entries, ${count('ok')} ok, ${count('refused')} refused (${[...rules].map(([k, v]) => `${k} ${v}`).join(', ')}), ${count('error')} errors, ${count('lost')} lost`);
  }
  return lines.join('\n');
}

describe('the corpus', () => {
  test("has at least 150 entries of both kinds, and its values are planted in the fixture table", async () => {
    expect(corpus.queries.length).toBeGreaterThanOrEqual(150);
    expect(corpus.queries.filter((q) => q.expect === 'masked').length).toBeGreaterThan(20);
    expect(corpus.queries.filter((q) => q.expect === 'refused').length).toBeGreaterThan(20);
    expect(planted.length).toBeGreaterThanOrEqual(12);
    const admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query(`SELECT ssn, email, phone, card_number FROM leak_people ORDER BY id`);
      const stored = rows.flatMap((r: Record<string, string>) => Object.values(r));
      expect(stored.length).toBe(12);
      for (const v of stored) expect(planted).toContain(v);
    } finally {
      await admin.end();
    }
  });
});

describe('no planted value reaches a masked client, and each entry is answered as the corpus says', () => {
  const clients: { name: string; make: (url: string) => CorpusClient; skip?: boolean }[] = [
    { name: 'node-postgres, simple protocol', make: (url) => new NodePgClient('node-postgres simple', url, 'simple') },
    { name: 'node-postgres, extended protocol (several statements sent one by one)', make: (url) => new NodePgClient('node-postgres extended', url, 'extended') },
    { name: 'node-postgres, extended protocol with binary results', make: (url) => new NodePgClient('node-postgres binary', url, 'binary') },
    { name: 'node-postgres, extended protocol one row per Execute (PortalSuspended)', make: (url) => new NodePgClient('node-postgres row-by-row', url, 'row-by-row') },
    { name: 'postgres.js, extended protocol with named prepared statements', make: (url) => new PostgresJsClient('postgres.js', url) },
    { name: psqlInstalled ? 'psql, simple protocol' : 'psql, simple protocol (skipped: psql is not installed)', make: (url) => new PsqlClient(url), skip: !psqlInstalled },
  ];
  for (const c of clients) {
    test.skipIf(c.skip === true)(c.name, async () => {
      const t = await tee({ host: agentProxy.ready.host, port: agentProxy.ready.port });
      const problems = await runCorpus(c.make(urlVia(agentProxy.ready.url, t)), t);
      // The capture is real: the client's whole conversation went through the tee.
      expect(t.connections).toBeGreaterThan(0);
      expect(t.mark()).toBeGreaterThan(corpus.queries.length * 20);
      expect(problems).toEqual([]);
      // ...and it saw masking at work: redacted values ('***') and hashed ones ('h:' and 16 hex digits).
      const all = t.all().toString('latin1');
      expect(all).toContain('***');
      expect(all).toMatch(/h:[0-9a-f]{16}/);
    }, 300_000);
  }
});

describe('the server keeps no planted value', () => {
  test('control: a marker alice writes into the audit log through her own session', async () => {
    const proxy = await startProxyCli(aliceHome, ['--db', 'customers', '--db-user', 'app_ro', '--task', 'write the canary']);
    try {
      const c = new pg.Client({ connectionString: proxy.ready.url });
      await c.connect();
      expect((await c.query(`SELECT '${canary}' AS canary`)).rows[0].canary).toBe(canary);
      await c.end();
    } finally {
      await proxy.proc.stop();
    }
  });

  test('not in the audit log, the journal, the recordings, the client\'s own output, or any file of the server', async () => {
    // Searching as alice also makes the server take in what it journalled but has not stored yet.
    const starts = await agentdbToFile(aliceHome, ['audit', 'search', '--user', 'demo-agent', '--type', 'db.session.start', '--limit', '10000', '--format', 'json']);
    expect(starts.code, starts.stderr).toBe(0);
    const sids = [...new Set(starts.stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { sid: string }).sid))];
    // One session at least per node-postgres mode and for postgres.js, and one per psql run.
    expect(sids.length).toBeGreaterThanOrEqual(5 + (psqlInstalled ? corpus.queries.length : 0));

    const found: string[] = [];
    const canarySeen = new Set<string>();
    const search = (where: string, bytes: Buffer | string) => {
      found.push(...describeHits(where, findLeaks(bytes, needles)));
      if ((typeof bytes === 'string' ? bytes : bytes.toString('latin1')).includes(canary)) canarySeen.add(where.split(':')[0]!);
    };

    // Every file the server keeps, byte for byte: agentdb.db, its -wal, audit.journal, keys, logs.
    const files = (await readdir(tc.dataDir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['agentdb.db', 'audit.journal']));
    for (const f of files) search(`file ${path.relative(tc.dataDir, path.join(f.parentPath, f.name))}`, await readFile(path.join(f.parentPath, f.name)));

    // The same rows decoded (a long row spills over sqlite overflow pages, which could split a value in the raw file).
    const db = new DatabaseSync(path.join(tc.dataDir, 'agentdb.db'), { readOnly: true });
    try {
      const audit = db.prepare('SELECT * FROM audit').all();
      const recordings = db.prepare('SELECT * FROM recordings').all();
      expect(audit.length).toBeGreaterThan(corpus.queries.length);
      expect(recordings.length).toBeGreaterThan(corpus.queries.length);
      search('store table audit', JSON.stringify(audit));
      search('store table recordings', JSON.stringify(recordings));
      // The store does hold what the agent ran: the search looks at the right rows.
      expect(JSON.stringify(recordings)).toContain('leak_people');
    } finally {
      db.close();
    }

    // The audit log as its readers get it.
    const events = await agentdbToFile(aliceHome, ['audit', 'search', '--user', 'demo-agent', '--limit', '10000', '--format', 'json']);
    expect(events.code, events.stderr).toBe(0);
    search('audit search output', events.stdout);
    const lines = events.stdout.trim().split('\n');
    for (const l of lines) JSON.parse(l);
    expect(lines.length).toBeLessThan(10000);
    expect(events.stdout).toContain('leak_people');
    const aliceEvents = await agentdbToFile(aliceHome, ['audit', 'search', '--user', 'alice', '--query', 'canary', '--format', 'json']);
    search('audit search output (alice)', aliceEvents.stdout);

    // The recordings as `agentdb play` shows them: every long-lived client's session, and a spread of the
    // one-statement psql sessions (the store's recordings table above holds all of them, decoded).
    const perSid = new Map<string, number>();
    for (const l of lines) {
      const sid = (JSON.parse(l) as { sid?: string }).sid;
      if (sid) perSid.set(sid, (perSid.get(sid) ?? 0) + 1);
    }
    const long = sids.filter((s) => (perSid.get(s) ?? 0) > corpus.queries.length);
    const short = sids.filter((s) => !long.includes(s));
    const played = [...long, ...short.filter((_, i) => i % Math.ceil(short.length / 8) === 0)];
    expect(long.length).toBeGreaterThanOrEqual(5);
    for (let i = 0; i < played.length; i += 4) {
      await Promise.all(played.slice(i, i + 4).map(async (sid) => {
        const r = await agentdbToFile(aliceHome, ['play', sid, '--format', 'json']);
        expect(r.code, r.stderr).toBe(0);
        // Whole, or the search would have looked at part of it.
        const rec = JSON.parse(r.stdout) as { statements: unknown[] };
        expect(rec.statements.length).toBeGreaterThan(0);
        search(`play ${sid}`, r.stdout);
      }));
    }

    // What the agent's proxy printed.
    search('agent proxy output', `${agentProxy.proc.output.join('\n')}\n${agentProxy.proc.stderr}`);

    expect(found).toEqual([]);
    // The control: alice's marker was found by the same search, in the raw files, the decoded store and the CLI's audit search.
    expect([...canarySeen].some((w) => w.startsWith('file '))).toBe(true);
    expect(canarySeen).toContain('store table audit');
    expect(canarySeen).toContain('audit search output (alice)');
  }, 300_000);
});

describe('control: the search finds values that are not masked', () => {
  test('alice (a person, unmasked) reads the fixture as app_ro through her own proxy: the capture shows the values in every form', async () => {
    const proxy = await startProxyCli(aliceHome, ['--db', 'customers', '--db-user', 'app_ro', '--task', 'leak search control']);
    const t = await tee({ host: proxy.ready.host, port: proxy.ready.port });
    try {
      const c = new pg.Client({ connectionString: urlVia(proxy.ready.url, t) });
      await c.connect();
      const check = async (what: string, run: () => Promise<unknown>, expected: RegExp) => {
        const mark = t.mark();
        await run();
        const hits = findLeaks(t.since(mark), needles).map((h) => h.needle.what);
        expect(hits.some((h) => expected.test(h)), `${what}: found ${JSON.stringify(hits)}`).toBe(true);
      };
      await check('text', () => c.query('SELECT ssn FROM leak_people'), /^"LEAKTOKEN-SSN-0001"$/);
      await check('binary', () => c.query({ text: 'SELECT card_number FROM leak_people', binary: true } as pg.QueryConfig), /^"LEAKTOKEN-CARD-0002"$/);
      await check('bytea hex', () => c.query('SELECT phone::bytea FROM leak_people'), /^hex of "LEAKTOKEN-PHONE-0003"$/);
      await check('cut short', () => c.query('SELECT substr(ssn, 3) FROM leak_people'), /^"SSN-0001"$/);
      await check('base64', () => c.query("SELECT encode(('x' || email)::bytea, 'base64') FROM leak_people"), /^base64 of "LEAKTOKEN-EMAIL/);
      await check('md5', () => c.query('SELECT md5(ssn) FROM leak_people'), /^md5 of "LEAKTOKEN-SSN/);
      await check('reversed, lower case', () => c.query('SELECT lower(reverse(ssn)) FROM leak_people'), /reversed$/);
      await check('COPY', () => c.query('COPY leak_people TO STDOUT (FORMAT binary)'), /^"LEAKTOKEN-EMAIL-0001@example.com"$/);
      await c.end();
    } finally {
      await proxy.proc.stop();
    }
  });
});
