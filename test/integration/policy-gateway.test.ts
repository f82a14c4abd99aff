// Every statement of the policy corpus, sent through the gateway by a real client (node-postgres) on the
// simple protocol and on the extended protocol, as the demo agent: the decision the client observes must be
// the corpus's. Denied statements never reach PostgreSQL; held ones time out quickly here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { analyze, loadParser } from '../../src/policy/index.js';
import { loginAgent, startProxyCli, startTestCluster, type CliProcess, type ProxyReady, type TestCluster } from '../helpers/cluster.js';

interface Entry {
  sql: string;
  expect: 'allow' | 'deny' | 'review';
  why?: string;
}

const corpus = parseYaml(readFileSync(path.resolve(import.meta.dirname, '../fixtures/policy-corpus.yaml'), 'utf8')) as Entry[];

let tc: TestCluster;
let proxy: { proc: CliProcess; ready: ProxyReady };

beforeAll(async () => {
  await loadParser();
  tc = await startTestCluster('policy', (config) => {
    const agent = config.roles['demo-agent']!;
    // Held statements time out at once here: the test only needs to see that they were held.
    agent.review = { databases: agent.review?.databases ?? [], timeout: '1s' };
    // The corpus reads more than the demo budget allows over 560 statements; it is about statement policy,
    // so masking (which refuses filters on masked columns) is left to the leak corpus.
    delete agent.budget;
    delete agent.masking;
  });
  const home = await tc.newHome();
  await loginAgent(tc, home);
  proxy = await startProxyCli(home, ['--db', 'customers', '--task', 'policy corpus']);
}, 120_000);

afterAll(async () => {
  await proxy?.proc.stop();
  await tc?.close();
});

type Observed = 'allow' | 'deny' | 'review';

/** What the client saw: a policy denial, a review that timed out, or anything else (PostgreSQL ran or refused it itself). */
function observe(err: unknown): Observed {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e || e.code !== '42501' || !/denied by agentdb policy/.test(e.message ?? '')) return 'allow';
  return /timed out/.test(e.message ?? '') ? 'review' : 'deny';
}

const ENTRY_TIMEOUT_MS = 5_000;

/** A query that does not answer in time counts as 'hang' (the connection is then replaced). */
async function within(client: pg.Client, query: string | pg.QueryConfig): Promise<Observed | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), ENTRY_TIMEOUT_MS)));
  const ran = client.query(query).then(() => 'allow' as const, (err: unknown) => observe(err));
  try {
    return await Promise.race([ran, hang]);
  } finally {
    clearTimeout(timer);
  }
}

// The gateway answers a plain SET of a setting the policy forces as done, with this WARNING, and keeps the value:
// the policy's deny, as a client that must not fail on it (pg_dump) sees it.
const IGNORED = /agentdb: .* set by policy for this session; this SET was ignored/;
const notices = new WeakMap<pg.Client, string[]>();

async function run(client: pg.Client, sql: string, extended: boolean): Promise<{ observed: Observed | 'hang'; broken: boolean }> {
  const seen = notices.get(client)!;
  seen.length = 0;
  let observed = await within(client, extended ? ({ text: sql, queryMode: 'extended' } as pg.QueryConfig) : sql);
  if (observed === 'allow' && seen.some((n) => IGNORED.test(n))) observed = 'deny';
  if (observed === 'hang') return { observed, broken: true };
  // Leave no transaction open for the next entry (ROLLBACK outside one only warns). node-postgres sends no Sync
  // after a failed extended-protocol COPY FROM STDIN, so that connection waits forever (as it would on
  // PostgreSQL directly): then the connection is replaced.
  return { observed, broken: (await within(client, 'ROLLBACK')) === 'hang' };
}

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: proxy.ready.url });
  c.on('error', () => undefined);
  const seen: string[] = [];
  notices.set(c, seen);
  c.on('notice', (n) => seen.push(n.message ?? ''));
  await c.connect();
  return c;
}

describe('the policy corpus through the gateway', () => {
  for (const protocol of ['simple', 'extended'] as const) {
    test(`${protocol} protocol: every statement is decided as the corpus says`, async () => {
      expect(corpus.length).toBeGreaterThanOrEqual(150);
      let client = await connect();
      const wrong: string[] = [];
      // what each name PREPAREd so far was decided as (the gateway decides EXECUTE by it)
      const prepared = new Map<string, Observed>();
      for (const entry of corpus) {
        const statements = analyze(entry.sql).statements.length;
        // A prepared statement holds one statement: a multi-statement string is refused on the extended protocol.
        const expected = protocol === 'extended' && statements > 1 ? 'deny' : gatewayExpectation(entry, prepared);
        const made = preparedName(entry.sql);
        if (made) prepared.set(made, entry.expect);
        const { observed: got, broken } = await run(client, entry.sql, protocol === 'extended');
        if (process.env.AGENTDB_TEST_TRACE) (await import('node:fs')).appendFileSync(process.env.AGENTDB_TEST_TRACE, `${protocol} ${got} ${JSON.stringify(entry.sql)}\n`);
        if (got !== expected) wrong.push(`${JSON.stringify(entry.sql)}: expected ${expected}, observed ${got}`);
        // A statement may end the connection (a FATAL from PostgreSQL) or leave it waiting: carry on with a fresh one.
        if (broken || (client as unknown as { _ending?: boolean })._ending || !(client as unknown as { _connected?: boolean })._connected) {
          void client.end().catch(() => undefined);
          client = await connect();
        }
      }
      await client.end().catch(() => undefined);
      expect(wrong).toEqual([]);
    }, 600_000);
  }
});

/**
 * Where the gateway knows more than the policy alone: an EXECUTE of a name the session PREPAREd is decided as that
 * statement (the corpus decides it without the session: no rule allows kind execute), and SET application_name
 * is run with the session's tag kept (the policy protects application_name).
 */
function gatewayExpectation(entry: { sql: string; expect: Observed }, prepared: ReadonlyMap<string, Observed>): Observed {
  if (/^\s*SET\s+(SESSION\s+|LOCAL\s+)?application_name\s*(=|TO)\s*'[^']*'\s*;?\s*$/i.test(entry.sql)) return 'allow';
  const executed = /^\s*(EXPLAIN\s+ANALYZE\s+)?EXECUTE\s+(\w+)/i.exec(entry.sql)?.[2]?.toLowerCase();
  const made = executed !== undefined ? prepared.get(executed) : undefined;
  return made === 'allow' || made === 'review' ? made : entry.expect;
}

function preparedName(sql: string): string | undefined {
  return /^\s*PREPARE\s+(\w+)/i.exec(sql)?.[1]?.toLowerCase();
}
