// The data every path reads: pgbench's tables (initialised by the superuser straight against PostgreSQL, as
// DDL and COPY need) and one large table for the throughput workload, readable by the database user the
// demo agent's role maps to.
import pg from 'pg';
import { runPgbench } from './pgbench.js';
import { libpq } from './paths.js';

export interface LargeTable {
  name: string;
  rows: number;
  /** what the rows weigh on the wire: DataRow messages, headers included */
  wireBytes: number;
}

export const PGBENCH_TABLES = ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history'];
export const LARGE_TABLE = 'bench_rows';
/** The same rows again, two of whose columns the bench's agent role masks (the masked-throughput workload). */
export const MASKED_TABLE = 'bench_rows_masked';
/** The masked columns of MASKED_TABLE and their strategies, as the role's masking block says them. */
export const MASKED_COLUMNS = { [`public.${MASKED_TABLE}.a`]: 'redact', [`public.${MASKED_TABLE}.b`]: { partial: 4 } } as const;
const LARGE_ROWS = 1_000_000;

/** pgbench -i at `scale`, and the large table: 1,000,000 rows of about 150 bytes (none in quick mode, which reads none). */
export async function loadBenchData(pgbench: string, adminUrl: string, scale: number, dbUser: string, largeRows = LARGE_ROWS): Promise<LargeTable> {
  const u = new URL(adminUrl);
  // The superuser without TLS: setup, not a measured path.
  const admin = { path: 'direct' as const, host: u.hostname, port: Number(u.port), database: decodeURIComponent(u.pathname.slice(1)), user: 'postgres', password: decodeURIComponent(u.password) };
  const { conninfo, env } = libpq(admin);
  // Server-side generation (G) is the quickest way to fill the tables.
  await runPgbench(pgbench, ['-i', '-I', 'dtGvp', '-s', String(scale), '-q'], conninfo, env, 600_000);
  const db = new pg.Client({ connectionString: adminUrl });
  await db.connect();
  try {
    await db.query(`
      DROP TABLE IF EXISTS ${LARGE_TABLE};
      CREATE TABLE ${LARGE_TABLE} (id int PRIMARY KEY, a text, b text, c text);
      INSERT INTO ${LARGE_TABLE}
        SELECT g, md5(g::text), md5((g + 1)::text), repeat(chr(97 + g % 26), 64) FROM generate_series(1, ${largeRows}) g;
      GRANT SELECT, INSERT, UPDATE ON ${PGBENCH_TABLES.join(', ')} TO ${db.escapeIdentifier(dbUser)};
      GRANT SELECT ON ${LARGE_TABLE} TO ${db.escapeIdentifier(dbUser)};
      DROP TABLE IF EXISTS ${MASKED_TABLE};
      CREATE TABLE ${MASKED_TABLE} AS SELECT * FROM ${LARGE_TABLE};
      GRANT SELECT ON ${MASKED_TABLE} TO ${db.escapeIdentifier(dbUser)};`);
    // Alone: VACUUM cannot run in the implicit transaction of a multi-statement query.
    await db.query(`VACUUM ANALYZE ${LARGE_TABLE}`);
    await db.query(`VACUUM ANALYZE ${MASKED_TABLE}`);
    // DataRow: type (1) + length (4) + field count (2) + per field a length (4) and the text.
    const r = await db.query<{ rows: string; bytes: string }>(
      `SELECT count(*) AS rows, sum(7 + 4 * 4 + octet_length(id::text) + octet_length(a) + octet_length(b) + octet_length(c)) AS bytes FROM ${LARGE_TABLE}`,
    );
    return { name: LARGE_TABLE, rows: Number(r.rows[0]!.rows), wireBytes: Number(r.rows[0]!.bytes) };
  } finally {
    await db.end();
  }
}
