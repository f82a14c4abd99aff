// The checked-in function table (src/policy/pg-functions/catalogue.data.ts) against live servers: the test
// suite's PostgreSQL 18, and Debian's PostgreSQL 15 where its binaries are installed. Every function the
// server has must be in the table, with facts at least as cautious as the server's own.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { pgFunctionFacts, SUPPORTED_PG_VERSIONS } from '../../src/policy/index.js';
import { freePort } from '../../src/server/dev/embedded-postgres.js';

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
  const bin = '/usr/lib/postgresql/15/bin';
  let stop: (() => void) | undefined;
  afterAll(() => stop?.());
  test.runIf(existsSync(path.join(bin, 'initdb')))('PostgreSQL 15', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentdb-pg15-'));
    chmodSync(dir, 0o777);
    const data = path.join(dir, 'data');
    const port = await freePort();
    const asPostgres = (cmd: string[]) =>
      process.getuid?.() === 0 ? execFileSync('setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', ...cmd], { stdio: 'pipe' }) : execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'pipe' });
    asPostgres([path.join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres']);
    asPostgres([path.join(bin, 'pg_ctl'), '-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-l', path.join(dir, 'log'), '-w', 'start']);
    stop = () => {
      try {
        asPostgres([path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const live = await liveFunctions(`postgres://postgres@127.0.0.1:${port}/postgres`);
    expect(live.version).toBe('15');
    expect(check(live.rows, '15')).toEqual([]);
  }, 60_000);
});
