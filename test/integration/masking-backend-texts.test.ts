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

const AGENT = 'backend-texts-agent';
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
  tc = await startTestCluster('bktexts', (config) => {
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
    CREATE FUNCTION bt_raise(p_id int) RETURNS text LANGUAGE plpgsql STABLE AS $$
      DECLARE v text;
      BEGIN
        SELECT ssn INTO v FROM bt_people WHERE id = p_id;
        RAISE EXCEPTION 'no luck with %', v USING DETAIL = 'detail ' || v, HINT = 'hint ' || v;
      END $$;
    CREATE FUNCTION bt_notice(p_id int) RETURNS text LANGUAGE plpgsql STABLE AS $$
      DECLARE v text;
      BEGIN
        SELECT email INTO v FROM bt_people WHERE id = p_id;
        RAISE NOTICE 'looked at %', v USING DETAIL = v;
        RETURN 'ok';
      END $$;
    CREATE FUNCTION bt_set_app(p_id int) RETURNS text LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM set_config('application_name', (SELECT ssn FROM bt_people WHERE id = p_id), false);
        RETURN 'ok';
      END $$;
    GRANT SELECT, UPDATE ON bt_people TO app_rw;
    GRANT SELECT ON bt_notes TO app_rw;`);
  const ca = await clusterUserCa(tc);
  agentCert = await issueTaskCert(tc, ca, { identity: AGENT, kind: 'agent', roles: ['demo-agent'], traits: { region: ['us-east'] } });
  personCert = await issueTaskCert(tc, ca, { identity: PERSON });
  reviewerHome = await tc.newHome();
  await loginAgent(tc, reviewerHome, 'demo-reviewer');
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await tc?.close();
});

/** A logged-in raw session; `received` keeps every byte the gateway sent it. */
async function session(cert: ClientCert): Promise<{ w: Wire; received: Buffer[] }> {
  const w = await Wire.tls(tc.cluster.info.gateway, cert);
  const received: Buffer[] = [];
  w.socket.on('data', (chunk: Buffer) => received.push(Buffer.from(chunk)));
  const a = await w.startup({ user: 'app_rw', database: tc.database });
  expect(a.error).toBeUndefined();
  return { w, received };
}

/** Parse, Bind, Describe, Execute, Sync of one unnamed statement, read to ReadyForQuery. */
function extended(w: Wire, sql: string, values: string[] = []): Promise<WireMessage[]> {
  w.send(serialize.parse({ text: sql }), serialize.bind({ values }), serialize.describe({ type: 'P' }), serialize.execute(), serialize.sync());
  return w.until('Z');
}

function errors(ms: WireMessage[]): ReturnType<typeof readErrorFields>[] {
  return ms.filter((m) => m.type === 'E').map(errorOf);
}

function notices(ms: WireMessage[]): ReturnType<typeof readErrorFields>[] {
  return ms.filter((m) => m.type === 'N').map((m) => readErrorFields(m.raw, 0, m.raw.length));
}

function parameters(ms: WireMessage[]): { name: string; value: string }[] {
  return ms.filter((m) => m.type === 'S').map((m) => readParameterStatus(m.raw, 0, m.raw.length));
}

function leaks(where: string, bytes: Buffer | string): string[] {
  return describeHits(where, findLeaks(bytes, needles));
}

async function auditOf(identity: string): Promise<AuditEvent[]> {
  return tc.cluster.server.audit.search({ user: identity, limit: 10_000 });
}

/** The session's recording, once the gateway has written its end. */
async function recordingOf(sid: string): Promise<string> {
  return eventually(async () => {
    const recs = await tc.cluster.server.store.readRecording(sid);
    return recs.some((r) => r.kind === 'end') ? JSON.stringify(recs) : undefined;
  }, `the recording of session ${sid}`);
}

async function sidOf(identity: string, sqlPart: string): Promise<string> {
  const e = (await auditOf(identity)).find((x) => x.statement?.sql.includes(sqlPart));
  expect(e, `an audit event of ${identity} for ${sqlPart}`).toBeDefined();
  return e!.sid!;
}

describe('errors and notices of a statement that read masked data are withheld', () => {
  test('control: run unmasked, the same statements show the planted values', async () => {
    await expect(admin.query('SELECT bt_raise(id) FROM bt_people')).rejects.toThrow(/BTTOKEN-SSN-000/);
    const seen: string[] = [];
    const onNotice = (n: { message?: string }) => seen.push(n.message ?? '');
    admin.on('notice', onNotice);
    await admin.query('SELECT bt_notice(id) FROM bt_people');
    admin.off('notice', onNotice);
    expect(seen.join('\n')).toMatch(/BTTOKEN-EMAIL-0001@example\.com/);
    await expect(admin.query('SELECT body::int FROM bt_notes')).rejects.toThrow(EMAIL);
  });

  test('simple and extended protocol: SQLSTATE, severity and position kept, every text withheld, nothing leaks', async () => {
    const { w, received } = await session(agentCert);
    try {
      for (const run of [() => w.query('SELECT bt_raise(id) FROM bt_people'), () => extended(w, 'SELECT bt_raise($1::int)', ['2']), () => extended(w, 'SELECT bt_raise(id) FROM bt_people WHERE id = $1', ['1'])]) {
        const ms = await run();
        const [e, ...more] = errors(ms);
        expect(more).toEqual([]);
        expect(e).toMatchObject({ severity: 'ERROR', code: 'P0001', message: WITHHELD_ERROR });
        expect(e!.detail).toBeUndefined();
        expect(e!.hint).toBeUndefined();
        expect(e!.where).toBeUndefined();
        expect(ms.at(-1)!.type).toBe('Z');
      }
      const ms = await w.query('SELECT bt_notice(id) AS r FROM bt_people ORDER BY id');
      // A user function's result is of unknown origin: masked.
      expect(rowsOf(ms)).toEqual([['***'], ['***']]);
      const ns = notices(ms);
      expect(ns.length).toBe(2);
      for (const n of ns) {
        expect(n).toMatchObject({ severity: 'NOTICE', code: '00000', message: WITHHELD_NOTICE });
        expect(n.detail).toBeUndefined();
      }
      // The session still serves.
      expect(rowsOf(await w.query('SELECT name FROM bt_people ORDER BY id'))).toEqual([['Ada'], ['Bo']]);
    } finally {
      w.close();
    }
    expect(leaks('bytes received', Buffer.concat(received))).toEqual([]);
    // The capture holds what was searched: the withheld reports themselves.
    expect(Buffer.concat(received).toString('utf8')).toContain(WITHHELD_ERROR);
  });

  test('a parameter a function set to a masked value (application_name) is reported withheld', async () => {
    // Control: a person without masking sees the value in the ParameterStatus.
    const person = await session(personCert);
    try {
      const ms = await person.w.query('SELECT bt_set_app(1)');
      expect(parameters(ms)).toContainEqual({ name: 'application_name', value: 'BTTOKEN-SSN-0001' });
    } finally {
      person.w.close();
    }
    const { w, received } = await session(agentCert);
    try {
      const ms = await w.query('SELECT bt_set_app(2)');
      expect(errors(ms)).toEqual([]);
      expect(parameters(ms)).toContainEqual({ name: 'application_name', value: '***' });
    } finally {
      w.close();
    }
    expect(leaks('bytes received', Buffer.concat(received))).toEqual([]);
  });

  test('the audit log and the recording keep the withheld text only', async () => {
    const sid = await sidOf(AGENT, 'bt_raise(id) FROM bt_people');
    const recording = await recordingOf(sid);
    expect(leaks('recording', recording)).toEqual([]);
    expect(recording).toContain(WITHHELD_ERROR);
    expect(recording).toContain('P0001');
    expect(leaks('audit', JSON.stringify(await auditOf(AGENT)))).toEqual([]);
  });
});

describe('errors of a statement that reads no masked column keep PostgreSQL\'s text, through the detectors', () => {
  test('simple and extended protocol: the email and the card are replaced, the rest of the message kept', async () => {
    const { w, received } = await session(agentCert);
    try {
      for (const run of [() => w.query('SELECT body::int FROM bt_notes'), () => extended(w, 'SELECT body::int FROM bt_notes WHERE id = $1', ['1'])]) {
        const [e] = errors(await run());
        expect(e?.code).toBe('22P02');
        expect(e?.message).toMatch(/^invalid input syntax for type integer: "call \[email\], card \[card\]"$/);
      }
      // A legitimate mistake is told as PostgreSQL tells it.
      const [missing] = errors(await w.query('SELECT no_such_column FROM bt_notes'));
      expect(missing).toMatchObject({ code: '42703', message: 'column "no_such_column" does not exist' });
      expect(missing!.position).toBe('8');
    } finally {
      w.close();
    }
    expect(leaks('bytes received', Buffer.concat(received))).toEqual([]);
    const sid = await sidOf(AGENT, 'body::int FROM bt_notes');
    const recording = await recordingOf(sid);
    expect(recording).toContain('[email]');
    expect(leaks('recording', recording)).toEqual([]);
  });

  test('a report is rebuilt with every field the database sent, in its order', async () => {
    const { w } = await session(agentCert);
    try {
      const m = (await w.query('SELECT body::int FROM bt_notes')).find((x) => x.type === 'E')!;
      const codes = readReportFields(m.raw, 0, m.raw.length).map((f) => f.code);
      // Severity twice (localized and not), SQLSTATE, message, source file, line and routine.
      expect(codes.slice(0, 4)).toEqual(['S', 'V', 'C', 'M']);
      expect(codes).toEqual(expect.arrayContaining(['F', 'L', 'R']));
    } finally {
      w.close();
    }
  });
});

describe('every execution by name is decided and audited with its text', () => {
  test('a SQL PREPARE run by a protocol Bind/Execute is audited with the PREPARE; unknown and deallocated names are refused', async () => {
    const { w } = await session(agentCert);
    try {
      expect(errors(await w.query('PREPARE bt_sel AS SELECT id, name, ssn FROM bt_people ORDER BY id'))).toEqual([]);
      w.send(serialize.bind({ statement: 'bt_sel' }), serialize.describe({ type: 'P' }), serialize.execute(), serialize.sync());
      const ran = await w.until('Z');
      expect(errors(ran)).toEqual([]);
      // Masked as the PREPARE's flow says.
      expect(rowsOf(ran)).toEqual([['1', 'Ada', '***'], ['2', 'Bo', '***']]);

      w.send(serialize.bind({ statement: 'bt_never_prepared' }), serialize.execute(), serialize.sync());
      const [unknown] = errors(await w.until('Z'));
      expect(unknown?.code).toBe('42501');
      expect(unknown?.message).toMatch(/rule protocol.*bt_never_prepared/);

      expect(errors(await w.query('DEALLOCATE bt_sel'))).toEqual([]);
      w.send(serialize.bind({ statement: 'bt_sel' }), serialize.execute(), serialize.sync());
      expect(errors(await w.until('Z'))[0]?.code).toBe('42501');
      expect(rowsOf(await w.query('SELECT 1'))).toEqual([['1']]);
    } finally {
      w.close();
    }
    const events = await auditOf(AGENT);
    const runs = events.filter((e) => e.statement?.sql === 'PREPARE bt_sel AS SELECT id, name, ssn FROM bt_people ORDER BY id');
    // The PREPARE itself and its execution by Bind/Execute, both allowed.
    expect(runs.map((e) => [e.type, e.statement?.decision])).toEqual([['db.session.query', 'allow'], ['db.session.query', 'allow']]);
    expect(runs[1]!.statement?.tables).toEqual(['public.bt_people']);
    expect(events.some((e) => e.type === 'db.session.denied' && e.statement?.rule === 'protocol' && e.statement.sql.includes('bt_never_prepared'))).toBe(true);
    expect(events.some((e) => e.statement?.sql === '')).toBe(false);
  });

  test('a DECLAREd cursor run by a protocol Execute of its name is audited with the DECLARE; it is forgotten when the transaction ends', async () => {
    const { w } = await session(agentCert);
    try {
      expect(errors(await w.query('BEGIN; DECLARE bt_cur CURSOR FOR SELECT id, email FROM bt_people ORDER BY id'))).toEqual([]);
      w.send(serialize.execute({ portal: 'bt_cur' }), serialize.sync());
      const ran = await w.until('Z');
      expect(errors(ran)).toEqual([]);
      const rows = rowsOf(ran);
      expect(rows.map((r) => r[0])).toEqual(['1', '2']);
      expect(rows.every((r) => !r[1]!.includes('BTTOKEN'))).toBe(true);
      expect(errors(await w.query('COMMIT'))).toEqual([]);
      w.send(serialize.execute({ portal: 'bt_cur' }), serialize.sync());
      const [gone] = errors(await w.until('Z'));
      expect(gone?.code).toBe('42501');
      expect(gone?.message).toMatch(/rule protocol.*bt_cur/);
      w.send(serialize.execute({ portal: 'bt_no_such_portal' }), serialize.sync());
      expect(errors(await w.until('Z'))[0]?.code).toBe('42501');
    } finally {
      w.close();
    }
    const events = await auditOf(AGENT);
    const runs = events.filter((e) => e.statement?.sql === 'DECLARE bt_cur CURSOR FOR SELECT id, email FROM bt_people ORDER BY id');
    expect(runs.length).toBe(2);
    expect(runs.every((e) => e.type === 'db.session.query')).toBe(true);
  });

  test('a named statement is never taken for another text: a second Parse of a name is refused, a failed Parse frees it', async () => {
    const { w } = await session(personCert);
    try {
      w.send(serialize.parse({ name: 'bt_s1', text: "SELECT 'first'" }), serialize.sync());
      expect(errors(await w.until('Z'))).toEqual([]);
      w.send(serialize.parse({ name: 'bt_s1', text: "SELECT 'second'" }), serialize.sync());
      const [again] = errors(await w.until('Z'));
      expect(again?.code).toBe('42P05');
      w.send(serialize.bind({ statement: 'bt_s1' }), serialize.execute(), serialize.sync());
      expect(rowsOf(await w.until('Z'))).toEqual([['first']]);

      w.send(serialize.parse({ name: 'bt_s2', text: 'SELECT * FROM bt_no_such_table' }), serialize.sync());
      expect(errors(await w.until('Z'))[0]?.code).toBe('42P01');
      w.send(serialize.parse({ name: 'bt_s2', text: "SELECT 'fixed'" }), serialize.bind({ statement: 'bt_s2' }), serialize.execute(), serialize.sync());
      const fixed = await w.until('Z');
      expect(errors(fixed)).toEqual([]);
      expect(rowsOf(fixed)).toEqual([['fixed']]);
    } finally {
      w.close();
    }
    const events = await auditOf(PERSON);
    expect(events.filter((e) => e.statement?.sql === "SELECT 'first'").map((e) => e.type)).toEqual(['db.session.query']);
    expect(events.some((e) => e.type === 'db.session.query' && e.statement?.sql === "SELECT 'second'")).toBe(false);
  });

  test('an UPDATE held for review and prepared by SQL is held again when a protocol Bind/Execute or a SQL EXECUTE runs it', async () => {
    const { w } = await session(agentCert);
    const sql = "PREPARE bt_upd AS UPDATE bt_people SET note = 'changed' WHERE id = 2";
    try {
      w.send(serialize.query(sql));
      // The PREPARE is held; a person approves it.
      const first = await pendingRequest(sql, []);
      await decide('approve', first);
      const prepared = await w.until('Z');
      expect(errors(prepared)).toEqual([]);
      expect(prepared.some((m) => m.type === 'C')).toBe(true);

      w.send(serialize.bind({ statement: 'bt_upd' }), serialize.execute(), serialize.sync());
      const second = await pendingRequest(sql, [first]);
      await decide('deny', second);
      const [denied] = errors(await w.until('Z'));
      expect(denied?.code).toBe('42501');
      expect(denied?.message).toMatch(/denied by agentdb policy/);

      // SQL EXECUTE of the name (kind execute, which a rule allows) is held as the statement it runs.
      w.send(serialize.query('EXECUTE bt_upd'));
      const third = await pendingRequest('EXECUTE bt_upd', []);
      await decide('deny', third);
      expect(errors(await w.until('Z'))[0]?.code).toBe('42501');
    } finally {
      w.close();
    }
    expect((await admin.query('SELECT note FROM bt_people WHERE id = 2')).rows[0].note).toBe('second');
    const held = (await auditOf(AGENT)).filter((e) => e.type === 'db.session.review' && e.statement?.sql === sql);
    expect(held.length).toBe(2);
  }, 120_000);
});

describe('SQL that is not valid UTF-8', () => {
  // SELECT current_user AS "caf<0xe9>": Latin-1 bytes, as a client with the wrong encoding sends them.
  const bytes = Buffer.concat([Buffer.from('SELECT current_user AS "caf'), Buffer.from([0xe9]), Buffer.from('"')]);

  for (const [who, cert] of [['an unmasked person', () => personCert], ['a masked agent', () => agentCert]] as const) {
    test(`is refused with 22021 on both protocols, and audited with the bytes sent (${who})`, async () => {
      const { w } = await session(cert());
      try {
        w.send(typedMessage('Q', Buffer.concat([bytes, Buffer.from([0])])));
        const [simple] = errors(await w.until('Z'));
        expect(simple?.code).toBe('22021');
        expect(simple?.message).toMatch(/invalid byte sequence for encoding "UTF8"/);
        // Parse: statement name "", the text, no parameter types.
        w.send(typedMessage('P', Buffer.concat([Buffer.from([0]), bytes, Buffer.from([0, 0, 0])])), serialize.bind(), serialize.execute(), serialize.sync());
        const [parsed, ...rest] = errors(await w.until('Z'));
        expect(parsed?.code).toBe('22021');
        expect(rest).toEqual([]);
        expect(rowsOf(await w.query('SELECT 2'))).toEqual([['2']]);
      } finally {
        w.close();
      }
      const refused = (await auditOf(cert().identity)).filter((e) => e.statement?.rule === 'encoding');
      expect(refused.length).toBe(2);
      for (const e of refused) {
        expect(e.type).toBe('db.session.denied');
        expect(e.details).toEqual({ sqlEncoding: 'invalid-utf8', sqlBase64: bytes.toString('base64') });
        expect(e.statement?.sql).toBe('SELECT current_user AS "caf\uFFFD"');
      }
    });
  }
});

async function pendingRequest(sql: string, except: string[]): Promise<string> {
  return eventually(async () => {
    const r = await agentdb(reviewerHome, ['request', 'ls', '--state', 'pending', '--format', 'json']);
    if (r.code !== 0) throw new Error(r.stderr);
    const found = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; statement?: { sql: string } });
    return found.find((x) => x.statement?.sql === sql && !except.includes(x.id))?.id;
  }, `a pending review of ${sql}`, 30_000);
}

async function decide(verb: 'approve' | 'deny', id: string): Promise<void> {
  const r = await agentdb(reviewerHome, ['request', verb, id]);
  expect(r.code, r.stderr).toBe(0);
}
