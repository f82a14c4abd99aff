// The texts PostgreSQL writes itself, in a masked session: errors and notices quote values (a RAISE in a user
// function that reads a masked column, a failed cast of a free-text value), and no result masking touches
// them. An agent with masking talks to the gateway byte by byte (simple and extended protocol); every byte it
// receives, the audit log and the recording are searched for the planted values. The same statements run
// unmasked by the database owner show the values, so the search can fail.
// Also here: every execution by name is decided and audited with its text (SQL PREPARE run by a protocol Bind,
// a DECLAREd cursor run by a protocol Execute; names the session never saw are refused), and SQL that is not
// UTF-8 is refused with 22021, its audit event keeping the bytes that were sent.
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WITHHELD_ERROR, WITHHELD_NOTICE } from '../../src/masking/index.js';
import { readErrorFields, readParameterStatus, readReportFields } from '../../src/pgwire/index.js';
import type { AuditEvent } from '../../src/audit/index.js';
import { agentdb, eventually, loginAgent, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { describeHits, findLeaks, leakNeedles, type Needle } from '../helpers/leak-needles.js';
import { clusterUserCa, issueTaskCert, type ClientCert } from '../helpers/task-certs.js';
import { Wire, errorOf, rowsOf, typedMessage, type WireMessage } from '../helpers/wire.js';

const AGENT = "zz-review-agent";
const PERSON = 'backend-texts-person';
const PLANTED = ['BTTOKEN-SSN-0001', 'BTTOKEN-SSN-0002', 'BTTOKEN-EMAIL-0001@example.com', 'BTTOKEN-EMAIL-0002@example.com', 'BTTOKEN-CARD-0001', 'BTTOKEN-CARD-0002'];
// Values the content detectors know (an email, a Luhn-valid card), in a table with no masked column.
const EMAIL = 'dana.scott@example.com';
const CARD = '4111 1111 1111 1111';
const needles: Needle[] = [
  ...leakNeedles(['BTTOKEN'], PLANTED),
  { text: EMAIL, what: 'the email in bt_notes' },
  { text: CARD, what: 'the card number in bt_notes' },
  { text: CARD.replaceAll(' ', ''), what: 'the card number in bt_notes, without spaces' },
];

let tc: TestCluster;
let admin: pg.Client;
let agentCert: ClientCert;
let personCert: ClientCert;
let reviewerHome: string;

beforeAll(async () => {
  tc = await startTestCluster('zzreview', (config) => {
    const agent = config.roles['demo-agent']!;
    agent.masking = {
      columns: { 'bt_people.ssn': 'redact', 'bt_people.email': 'email', 'bt_people.card_number': { partial: 4 } },
      detectors: 'all',
    };
    agent.rules = [
      { name: 'bt-review-updates', action: 'review', match: { kinds: ['update'], writes: ['public.bt_people'] } },
      { name: 'bt-fixtures', action: 'allow', match: { kinds: ['select', 'cursor', 'execute', 'deallocate', 'transaction', 'empty'], reads: ['public.bt_*', 'pg_catalog.*'] } },
      ...agent.rules,
    ];
    delete agent.budget;
    agent.review = { ...agent.review, databases: agent.review?.databases ?? [], timeout: '60s' };
  });
  admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  await admin.query(`
    CREATE TABLE bt_people (id int PRIMARY KEY, name text, email text, card_number text, ssn text, note text);
    INSERT INTO bt_people VALUES
      (1, 'Ada', 'BTTOKEN-EMAIL-0001@example.com', 'BTTOKEN-CARD-0001', 'BTTOKEN-SSN-0001', 'first'),
      (2, 'Bo', 'BTTOKEN-EMAIL-0002@example.com', 'BTTOKEN-CARD-0002', 'BTTOKEN-SSN-0002', 'second');
    CREATE TABLE bt_notes (id int PRIMARY KEY, body text);
    INSERT INTO bt_notes VALUES (1, 'call ${EMAIL}, card ${CARD}');
  `);
  await admin.query(`GRANT SELECT, UPDATE ON bt_people TO app_rw; GRANT SELECT ON bt_notes TO app_rw;`);
  const ca = await clusterUserCa(tc);
  agentCert = await issueTaskCert(tc, ca, { identity: AGENT, kind: 'agent', roles: ['demo-agent'], traits: { region: ['us-east'] } });
  personCert = await issueTaskCert(tc, ca, { identity: PERSON });
  void personCert; void reviewerHome; void agentdb; void loginAgent; void readReportFields; void readParameterStatus; void WITHHELD_ERROR; void WITHHELD_NOTICE; void typedMessage; void extended;
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await tc?.close();
});

async function session(cert: ClientCert): Promise<{ w: Wire; received: Buffer[] }> {
  const w = await Wire.tls(tc.cluster.info.gateway, cert);
  const received: Buffer[] = [];
  w.socket.on('data', (chunk: Buffer) => received.push(Buffer.from(chunk)));
  const a = await w.startup({ user: 'app_rw', database: tc.database });
  expect(a.error).toBeUndefined();
  return { w, received };
}
function extended(w: Wire, sql: string, values: string[] = []): Promise<WireMessage[]> {
  w.send(serialize.parse({ text: sql }), serialize.bind({ values }), serialize.describe({ type: 'P' }), serialize.execute(), serialize.sync());
  return w.until('Z');
}
function errors(ms: WireMessage[]): ReturnType<typeof readErrorFields>[] {
  return ms.filter((m) => m.type === 'E').map(errorOf);
}
function leaks(where: string, bytes: Buffer | string): string[] {
  return describeHits(where, findLeaks(bytes, needles));
}
async function step(w: Wire, received: Buffer[], sql: string): Promise<void> {
  received.length = 0;
  const ms = await w.query(sql);
  const hits = leaks(sql, Buffer.concat(received));
  console.log('PROBE', JSON.stringify(sql), 'errors=', JSON.stringify(errors(ms).map((e) => [e.code, e.message])), 'rows=', JSON.stringify(rowsOf(ms)), 'LEAKS=', hits.length);
}

test('probes', async () => {
  const { w, received } = await session(agentCert);
  try {
    await step(w, received, "PREPARE zp AS SELECT ssn || '' AS x FROM bt_people ORDER BY id");
    await step(w, received, 'EXECUTE zp');
    await step(w, received, "PREPARE zp AS SELECT 'hello'::text AS x");
    await step(w, received, 'EXECUTE zp');
    await step(w, received, "DECLARE zc CURSOR WITH HOLD FOR SELECT email || '' AS x FROM bt_people ORDER BY id");
    await step(w, received, "DECLARE zc CURSOR WITH HOLD FOR SELECT 'hello'::text AS x");
    await step(w, received, 'FETCH ALL FROM zc');
    await step(w, received, "PREPARE zq AS SELECT card_number || '' AS x FROM bt_people ORDER BY id");
    await step(w, received, "PREPARE zq AS SELECT 'hello'::text AS x; SELECT pg_sleep(0)");
    await step(w, received, 'EXECUTE zq');
    await step(w, received, "DECLARE zd CURSOR WITH HOLD FOR SELECT ssn || '' AS x FROM bt_people ORDER BY id");
    await step(w, received, "DECLARE zd CURSOR WITH HOLD FOR SELECT 'hello'::text AS x");
    await step(w, received, 'FETCH ALL FROM zd');
    // protocol Parse of a name, run by SQL EXECUTE
    received.length = 0;
    w.send(serialize.parse({ name: 'zr', text: "SELECT ssn || '' AS x FROM bt_people ORDER BY id" }), serialize.sync());
    console.log('PROBE parse zr', JSON.stringify(errors(await w.until('Z')).map((e) => [e.code, e.message])));
    await step(w, received, 'EXECUTE zr');
    // SQL PREPARE clean, DEALLOCATE, protocol Parse of the same name reading ssn, SQL EXECUTE
    await step(w, received, "PREPARE zs AS SELECT 'hello'::text AS x");
    await step(w, received, 'DEALLOCATE zs');
    w.send(serialize.parse({ name: 'zs', text: "SELECT ssn || '' AS x FROM bt_people ORDER BY id" }), serialize.sync());
    console.log('PROBE parse zs', JSON.stringify(errors(await w.until('Z')).map((e) => [e.code, e.message])));
    await step(w, received, 'EXECUTE zs');
    // DEALLOCATE that fails in an aborted transaction: does the gateway forget the name PostgreSQL keeps?
    await step(w, received, "PREPARE zt AS SELECT ssn || '' AS x FROM bt_people ORDER BY id");
    await step(w, received, 'BEGIN');
    await step(w, received, 'SELECT 1/0');
    await step(w, received, 'DEALLOCATE zt');
    await step(w, received, 'ROLLBACK');
    await step(w, received, 'EXECUTE zt');
    received.length = 0;
    w.send(serialize.bind({ statement: 'zt' }), serialize.describe({ type: 'P' }), serialize.execute(), serialize.sync());
    { const ms = await w.until('Z'); console.log('PROBE bind zt', JSON.stringify(errors(ms).map((e) => [e.code, e.message])), JSON.stringify(rowsOf(ms))); }
    for (const q of [
      'SELECT count(*) FROM bt_people WHERE ssn::regclass IS NULL',
      'SELECT current_setting(ssn) FROM bt_people',
      'SELECT to_tsquery(ssn) FROM bt_people',
      'SELECT has_table_privilege(ssn, \'select\') FROM bt_people',
      "SELECT jsonb_set(to_jsonb(ssn), '{a}', '1') FROM bt_people",
      "SELECT jsonb_insert(jsonb_build_object(ssn, 1), ARRAY['BTTOKEN-SSN-0001'], '2') FROM bt_people",
      "SELECT set_config('datestyle', 'ISO', false), ssn FROM bt_people",
      "SELECT set_config('application_name', ssn, false) FROM bt_people",
      "SELECT id FROM bt_people WHERE ssn IN (SELECT x FROM generate_series(1,2) g, LATERAL (SELECT 'a' x) s)",
      "SELECT string_to_array(ssn, '-') FROM bt_people",
      "SELECT regexp_split_to_table(ssn, '-') FROM bt_people",
      "SELECT lag(ssn, 1, ssn) OVER () FROM bt_people",
      "SELECT ssn FROM bt_people WHERE id = 1 UNION SELECT 'x'",
      "SELECT format('%I', ssn) FROM bt_people",
      "SELECT (ssn || '')::regclass FROM bt_people",
      "SELECT quote_ident(ssn) FROM bt_people",
      "SELECT ARRAY[ssn] || ARRAY[[ssn]] FROM bt_people",
      "SELECT name(ssn) FROM bt_people",
      "SELECT row_to_json(p) FROM bt_people p",
      "SELECT p::text FROM bt_people p",
      "SELECT (p).ssn FROM bt_people p",
      "SELECT t.x FROM bt_people p, LATERAL (VALUES (p.ssn)) t(x)",
      "SELECT x FROM (SELECT ssn FROM bt_people) AS t(x)",
      "WITH t(x) AS (SELECT ssn FROM bt_people) SELECT x || '' FROM t",
      "SELECT ssn COLLATE \"C\" FROM bt_people",
      "TABLE bt_people",
      "SELECT * FROM bt_people ORDER BY ssn::int",
    ]) await step(w, received, q);
  } finally {
    w.close();
  }
}, 120_000);
