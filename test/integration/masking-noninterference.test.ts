// Nothing is rebuilt from row counts or errors. Every leak-corpus entry runs twice through `agentdb proxy` and
// the gateway as the masked demo agent (every masked column redacted): once over the fixture table with its
// planted values, once over the same rows whose masked values are replaced by adversarial ones (empty, a stray
// backslash, characters outside Latin-1, long, starting with other letters). Columns that are not masked, and
// which values are NULL, stay the same: they are not protected. Whatever the agent can observe — rows, row
// counts, command tags, errors with their SQLSTATE and text, notices — must then be identical: a difference
// is something the masked values leaked through (an error one value raises and another does not, a row count
// that follows a length). Entries whose output follows the clock are compared on everything but their rows.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LEAK_FIXTURES_RULE, loadCorpus, type CorpusEntry } from '../helpers/masking-corpus-runner.js';
import { loginAgent, startProxyCli, startTestCluster, type CliProcess, type ProxyReady, type TestCluster } from '../helpers/cluster.js';

const corpus = loadCorpus();


// The masked columns' values in the two worlds; id, name, note and region are the same in both.
const WORLDS = {
  planted: `
    (1, 'Ada', 'LEAKTOKEN-EMAIL-0001@example.com', 'LEAKTOKEN-PHONE-0001', 'LEAKTOKEN-CARD-0001', 'LEAKTOKEN-SSN-0001', 'prefers mornings', 'north'),
    (2, 'Bo',  'LEAKTOKEN-EMAIL-0002@example.com', 'LEAKTOKEN-PHONE-0002', 'LEAKTOKEN-CARD-0002', 'LEAKTOKEN-SSN-0002', 'asked for a refund', 'south'),
    (3, 'Cy',  'LEAKTOKEN-EMAIL-0003@example.org', 'LEAKTOKEN-PHONE-0003', 'LEAKTOKEN-CARD-0003', 'LEAKTOKEN-SSN-0003', 'vip', 'north')`,
  adversarial: `
    (1, 'Ada', '', 'a\\b', '0', '', 'prefers mornings', 'north'),
    (2, 'Bo',  'Ω😀@ex', '-', E'\\\\x', 'ÿ€', 'asked for a refund', 'south'),
    (3, 'Cy',  repeat('z', 300), 'LEAKTOKEN', '99999999999999999999999999', E'\\\\', 'vip', 'north')`,
};

let tc: TestCluster;
let proxy: { proc: CliProcess; ready: ProxyReady };
let admin: pg.Client;

beforeAll(async () => {
  tc = await startTestCluster('noninterference', (config) => {
    const agent = config.roles['demo-agent']!;
    const masking = structuredClone(corpus.masking) as unknown as { columns: Record<string, unknown> };
    for (const c of Object.keys(masking.columns)) masking.columns[c] = 'redact';
    agent.masking = masking as unknown as Record<string, unknown>;
    agent.rules = [LEAK_FIXTURES_RULE, ...agent.rules];
    delete agent.budget;
    agent.review = { databases: agent.review?.databases ?? [], timeout: '3s' };
  });
  admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  await admin.query(corpus.setup);
  await admin.query(`GRANT SELECT ON leak_people, leak_people_v, leak_people_vv TO app_rw, app_ro; GRANT INSERT, UPDATE, DELETE ON leak_people TO app_rw;`);
  const home = await tc.newHome();
  await loginAgent(tc, home);
  proxy = await startProxyCli(home, ['--db', 'customers', '--task', 'noninterference']);
});

afterAll(async () => {
  await proxy?.proc.stop();
  await admin?.end();
  await tc?.close();
});

async function setWorld(world: keyof typeof WORLDS): Promise<void> {
  await admin.query(`BEGIN; DELETE FROM leak_people; INSERT INTO leak_people VALUES ${WORLDS[world]}; COMMIT; ANALYZE leak_people;`);
}

/** Everything the client can observe of one entry, in order. */
async function observe(entry: CorpusEntry, rowsFollowClock: boolean): Promise<string[]> {
  const seen: string[] = [];
  const c = new pg.Client({ connectionString: proxy.ready.url });
  c.on('notice', (n) => seen.push(`notice ${n.code} ${n.message} ${n.detail ?? ''}`));
  await c.connect();
  try {
    const res = entry.params || entry.binary
      ? await c.query({ text: entry.sql, values: entry.params ?? [], binary: entry.binary ?? false, rowMode: 'array' } as pg.QueryConfig)
      : await c.query({ text: entry.sql, rowMode: 'array' });
    for (const r of Array.isArray(res) ? res : [res]) {
      seen.push(`${r.command} ${r.rowCount} ${rowsFollowClock ? `${r.rows.length} rows` : JSON.stringify(r.rows, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v))}`);
    }
  } catch (err) {
    const e = err as pg.DatabaseError;
    seen.push(`error ${e.code} ${e.message} ${e.detail ?? ''} ${e.hint ?? ''}`);
  } finally {
    await c.end().catch(() => undefined);
  }
  return seen;
}

describe('no masked value changes what the agent observes', () => {
  test('every corpus entry answers the same over planted and adversarial values', async () => {
    const differences: string[] = [];
    let ran = 0;
    for (const [i, entry] of corpus.queries.entries()) {
      const clock = /now\(\)|random|clock_timestamp/i.test(entry.sql);
      await setWorld('planted');
      const a = await observe(entry, clock);
      await setWorld('adversarial');
      const b = await observe(entry, clock);
      ran++;
      if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`#${i} ${entry.sql}\n    planted:     ${a.join(' | ')}\n    adversarial: ${b.join(' | ')}`);
    }
    expect(ran).toBe(corpus.queries.length);
    expect(differences, differences.join('\n')).toEqual([]);
  }, 600_000);

  test('control: without masking the same comparison tells the worlds apart', async () => {
    // The comparison can fail: run the red-team oracle as PostgreSQL's own superuser, where nothing is masked.
    const probe = async () => {
      try {
        await admin.query(`SELECT 1/(ascii(substr(ssn, 1, 1)) - 76) FROM leak_people`);
        return 'ok';
      } catch (err) {
        return (err as pg.DatabaseError).code ?? 'error';
      }
    };
    await setWorld('planted');
    const a = await probe();
    await setWorld('adversarial');
    const b = await probe();
    expect(a).toBe('22012');
    expect(b).toBe('ok');
  });
});
