// The checked-in function table (src/policy/pg-functions/catalogue.data.ts) against live servers: the test
// suite's PostgreSQL 18, and Debian's PostgreSQL 15 where its binaries are installed. Every function the
// server has must be in the table, with facts at least as cautious as the server's own.
import pg from 'pg';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { pgFunctionFacts, SUPPORTED_PG_VERSIONS } from '../../src/policy/index.js';
import { debianPostgresInstalled, startDebianPostgres, type DebianPostgres } from '../helpers/debian-postgres.js';

interface LiveRow {
  name: string;
  retset: boolean;
  volatility: string;
  leakproof: boolean;
}

async function liveFunctions(url: string): Promise<{ version: string; rows: LiveRow[] }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const v = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    const r = await c.query<LiveRow>(`
      SELECT proname AS name, bool_or(proretset) AS retset,
             CASE WHEN bool_or(provolatile = 'v') THEN 'volatile' WHEN bool_or(provolatile = 's') THEN 'stable' ELSE 'immutable' END AS volatility,
             bool_and(proleakproof) AS leakproof
        FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace GROUP BY proname`);
    return { version: String(Math.floor(Number(v.rows[0]!.v) / 10000)), rows: r.rows };
  } finally {
    await c.end();
  }
}

const RANK = { immutable: 0, stable: 1, volatile: 2 } as const;

function check(rows: LiveRow[], version: string): string[] {
  const problems: string[] = [];
  for (const row of rows) {
    const f = pgFunctionFacts(row.name);
    if (!f) {
      problems.push(`${row.name}: not in the table`);
      continue;
    }
    if (!f.versions.includes(version)) problems.push(`${row.name}: table does not list version ${version}`);
    if (row.retset && !f.setReturning) problems.push(`${row.name}: set-returning on the server`);
    if (RANK[f.volatility] < RANK[row.volatility as keyof typeof RANK]) problems.push(`${row.name}: ${row.volatility} on the server, ${f.volatility} in the table`);
    if (f.leakproof && !row.leakproof) problems.push(`${row.name}: not leakproof on the server`);
  }
  return problems;
}

describe('the function table against live servers', () => {
  test('the test suite\'s PostgreSQL', async () => {
    const live = await liveFunctions(inject('pgAdminUrl'));
    expect(SUPPORTED_PG_VERSIONS).toContain(live.version);
    expect(live.rows.length).toBeGreaterThan(2700);
    expect(check(live.rows, live.version)).toEqual([]);
  });

  // Debian's PostgreSQL 15 (installed by .ci/run), started for this test alone.
  let pg15: DebianPostgres | undefined;
  afterAll(() => pg15?.stop());
  test.runIf(debianPostgresInstalled)('PostgreSQL 15', async () => {
    pg15 = await startDebianPostgres();
    const live = await liveFunctions(pg15.adminUrl);
    expect(live.version).toBe('15');
    expect(check(live.rows, '15')).toEqual([]);
  }, 60_000);
});
