import { expect, inject, test } from 'vitest';
import pg from 'pg';

test('the embedded PostgreSQL answers with SCRAM auth', async () => {
  const client = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await client.connect();
  const { rows } = await client.query("select current_setting('password_encryption') as enc, version() as v");
  await client.end();
  expect(rows[0].enc).toBe('scram-sha-256');
  expect(rows[0].v).toMatch(/PostgreSQL 18/);
});
