// The leak corpus end to end against a real PostgreSQL: every entry is analysed, refused or run, and every
// byte of its result is masked with the plans the module builds. A token surviving anywhere is a leak.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import pg from 'pg';
import { analyze, loadParser } from '../../src/policy/index.js';
import { compileMasking, redactParams, redactQueryForAudit, type MaskingPolicy } from '../../src/masking/index.js';
import { Catalog, TappedClient, loadCorpus, runEntry, tokenForms, type CorpusEntry } from '../helpers/masking-corpus-runner.js';

const corpus = loadCorpus();
const dbName = `masking_corpus_${randomBytes(4).toString('hex')}`;
let admin: pg.Client;
let tapped: TappedClient;
let catalog: Catalog;
let policy: MaskingPolicy;
const tokens = tokenForms(corpus.tokens);
let tokensSeenRaw = 0;

beforeAll(async () => {
  await loadParser();
  admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = `/${dbName}`;
  tapped = new TappedClient(url.toString());
  await tapped.connect();
  await tapped.client.query(corpus.setup);
  catalog = new Catalog(tapped.client);
  policy = compileMasking([corpus.masking], randomBytes(32));
});

afterAll(async () => {
  await tapped?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin?.end();
});

describe('leak corpus', () => {
  test('has at least 60 entries of both kinds, each of which parses', () => {
    expect(corpus.queries.length).toBeGreaterThanOrEqual(60);
    expect(corpus.queries.filter((q) => q.expect === 'masked').length).toBeGreaterThan(30);
    expect(corpus.queries.filter((q) => q.expect === 'refused').length).toBeGreaterThan(20);
    for (const q of corpus.queries) expect(analyze(q.sql).error, q.sql).toBeUndefined();
  });

  test.each(corpus.queries.map((q) => [q.sql, q] as [string, CorpusEntry]))('%s', async (_sql, entry) => {
    const outcome = await runEntry(entry, policy, tapped, catalog);
    // The audit log gets the statement text with guesses at masked values taken out.
    const audited = redactQueryForAudit(
      entry.sql,
      analyze(entry.sql).statements.map((stmt, i) => ({ stmt, flow: outcome.flows[i]! })),
    );
    expect(audited, 'audit text').not.toMatch(tokens);
    if (entry.params) {
      const audit = redactParams(entry.params.map(String), outcome.flows[0]!);
      expect(audit.join(' '), 'audited parameters').not.toMatch(tokens);
    }
    if (entry.expect === 'refused') {
      expect(outcome.refused, `${entry.why}: expected a refusal`).toBeDefined();
      expect(outcome.refused!.message.length).toBeGreaterThan(20);
      return;
    }
    expect(outcome.refused?.message, entry.why).toBeUndefined();
    expect(outcome.raw.length, 'the statement returned data').toBeGreaterThan(0);
    expect(outcome.maskedColumns, 'some column is masked').toBeGreaterThan(0);
    if (outcome.raw.some((b) => tokens.test(b.toString('latin1')))) tokensSeenRaw++;
    for (const b of outcome.masked) expect(b.toString('latin1'), entry.why).not.toMatch(tokens);
  });

  test('the corpus really reads the tokens: unmasked, most results would have leaked', () => {
    expect(tokensSeenRaw).toBeGreaterThan(25);
  });
});
