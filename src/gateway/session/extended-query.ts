// The extended protocol: Parse decides a statement once (policy decideStatements, as a Query's), Bind attaches
// parameters to what a name stands for, Execute runs a portal — tracked and audited with its parameters, held
// again if its statement is held. A refused message becomes a failing Parse: PostgreSQL errors and discards
// until Sync, exactly as for any failed message.
import { SqlState, describeMessage, parseMessage, queryTextBytes, readBind, readExecute, readParse, textIsUtf8 } from '../../pgwire/index.js';
import type { Refusal } from '../../policy/index.js';
import { rewriteOf } from '../statement-rewrites.js';
import type { Denial } from '../statement-tracker.js';
import { textRefusal } from './chunk-analysis.js';
import { budgetDenial, decide, toDenial } from './decision.js';
import { reviewOf, type Portal, type PreparedStatement } from './names.js';
import { POISON_SQL } from './edits.js';
import type { SessionState } from './state.js';
import { trackRewritten, trackStatement } from './track.js';
import type { StatementDecision } from './types.js';

const MAX_AUDITED_PARAM = 64 * 1024;

export function onParse(st: SessionState, buf: Buffer, off: number, len: number): void {
  const p = readParse(buf, off, len);
  const invalid = textIsUtf8(buf, off, len) ? undefined : queryTextBytes(buf, off, len);
  const text = st.analyses.take(off, p.sql);
  const stmt: PreparedStatement = { sql: p.sql, analysis: invalid ? undefined : text.statements[0], columnsRef: {} };
  // A name the session has (a refused Parse's stand-in aside): PostgreSQL keeps the statement it has and
  // refuses the new one, so the gateway refuses it first and never takes the new text for the old.
  const held = p.name === '' ? undefined : st.names.statements.get(p.name);
  const known = held?.denial ? undefined : held;
  const refused = textRefusal(p.sql, invalid) ?? (text.error !== undefined ? undefined : protocolRefusal(p.name, known !== undefined, text.statements.length));
  let d: StatementDecision = decide(st, text, refused);
  if (!refused && stmt.analysis) {
    if (d.decision !== 'deny' && stmt.analysis.kind === 'ddl') st.ddlSeen = true;
    const rewrite = budgetDenial(st) ? undefined : rewriteOf(stmt.analysis, d, st.tag);
    if (rewrite) {
      // Prepared as the gateway's text; each Execute is audited as the client's (see onExecute).
      stmt.rewrite = rewrite;
      d = { decision: 'allow' };
      st.clientEdits.push({ start: off, end: off + len, bytes: parseMessage(p.name, rewrite.sql, []) });
    }
  }
  stmt.columnsRef.analysis = stmt.analysis;
  if (!known) st.names.statements.set(p.name, stmt);
  if (d.decision === 'review') stmt.review = reviewOf(d);
  if (d.decision !== 'deny') {
    const masking = st.deps.masking;
    if (masking) stmt.readsMasked = masking.readsMasked(stmt.analysis);
    // The name stands once PostgreSQL has parsed it; a Parse that fails (or is skipped after an error) made nothing.
    st.tracker.step({
      message: 'parse',
      ...(stmt.readsMasked !== undefined ? { readsMasked: stmt.readsMasked } : {}),
      onComplete: () => void (stmt.confirmed = true),
      onFailed: () => void (st.names.statements.get(p.name) === stmt && st.names.statements.delete(p.name)),
    });
    return;
  }
  // A denied Parse answers ErrorResponse and PostgreSQL discards until Sync, as for any failed Parse.
  stmt.denial = toDenial(d);
  st.clientEdits.push({ start: off, end: off + len, bytes: parseMessage(known ? '' : p.name, POISON_SQL, []) });
  trackStatement(st, p.sql, stmt.analysis, { denial: stmt.denial, text, invalidText: invalid });
}

/** What the protocol itself refuses of a Parse: a name in use, or more than one statement. */
function protocolRefusal(name: string, inUse: boolean, statements: number): Refusal | undefined {
  if (inUse) return { rule: 'protocol', message: `prepared statement "${name}" already exists; close it before preparing the name again`, sqlState: SqlState.DUPLICATE_PREPARED_STATEMENT };
  if (statements > 1) return { rule: 'protocol', message: 'a prepared statement must hold exactly one statement' };
  return undefined;
}

export function onBind(st: SessionState, buf: Buffer, off: number, len: number): void {
  const b = readBind(buf, off, len);
  const params = b.params.map((p, i) => paramText(p, b.paramFormats, i));
  let stmt = st.names.statements.get(b.statement);
  const cursor = b.portal === '' ? undefined : st.names.portals.get(b.portal)?.cursor;
  // A statement the session never saw prepared (by Parse or SQL PREPARE) would run without its text in the
  // audit log; a portal name a cursor holds is PostgreSQL's cursor, not this Bind's statement. Both are refused.
  const refusal = !stmt
    ? { message: `prepared statement "${b.statement}" was not prepared in this session through the gateway`, sqlState: SqlState.INSUFFICIENT_PRIVILEGE }
    : cursor
      ? { message: `cursor "${b.portal}" already exists; close it before binding the name`, sqlState: SqlState.DUPLICATE_CURSOR }
      : undefined;
  if (refusal) {
    const denial: Denial = { rule: 'protocol', ...refusal };
    st.clientEdits.push({ start: off, end: off + len, bytes: parseMessage('', POISON_SQL, []) });
    trackStatement(st, stmt?.sql ?? `<Bind of prepared statement ${JSON.stringify(b.statement)}>`, stmt?.analysis, { params, denial });
    if (cursor) return;
    stmt = { sql: '', analysis: undefined, columnsRef: {}, denial };
  }
  const portal: Portal = { stmt: stmt!, params, columnsRef: stmt!.columnsRef, formats: b.resultFormats };
  st.names.portals.set(b.portal, portal);
  if (portal.stmt.denial) return;
  st.tracker.step({
    message: 'bind',
    ...(portal.stmt.readsMasked !== undefined ? { readsMasked: portal.stmt.readsMasked } : {}),
    onFailed: () => void (st.names.portals.get(b.portal) === portal && st.names.portals.delete(b.portal)),
  });
}

export function onExecute(st: SessionState, buf: Buffer, off: number, len: number): void {
  const e = readExecute(buf, off, len);
  const portal = st.names.portals.get(e.portal);
  // A refused Execute becomes a failing Parse of the unnamed statement: PostgreSQL errors and discards until Sync.
  const refuse = { start: off, end: off + len, bytes: parseMessage('', POISON_SQL, []) };
  if (!portal) {
    // A portal the session never saw bound or DECLAREd would run without its text in the audit log.
    const denial = { rule: 'protocol', message: `portal "${e.portal}" was not opened in this session through the gateway`, sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
    st.clientEdits.push(refuse);
    trackStatement(st, `<Execute of portal ${JSON.stringify(e.portal)}>`, undefined, { denial });
    return;
  }
  const stmt = portal.stmt;
  // A statement whose Parse was refused was never prepared: PostgreSQL answers its Execute itself.
  if (stmt.denial) return;
  // A spent budget, or a result masking already refused (a suspended portal resumed), is refused before it runs again.
  const refusedShape = portal.columnsRef.shape?.refusal;
  const budget = budgetDenial(st) ?? (refusedShape ? { rule: 'masking', message: refusedShape, sqlState: SqlState.INSUFFICIENT_PRIVILEGE } : undefined);
  if (budget) {
    st.clientEdits.push(refuse);
    trackStatement(st, stmt.sql, stmt.analysis, { params: portal.params, columnsRef: portal.columnsRef, denial: budget });
    return;
  }
  const review = stmt.review;
  const columnsRef = portal.columnsRef;
  // Masking needs the result's columns; a client that never asked for them gets a Describe sent for it,
  // whose answer the gateway keeps to itself.
  if (st.deps.masking && !columnsRef.described) {
    st.clientEdits.push({ start: off, end: off, bytes: describeMessage('P', e.portal) });
    st.tracker.describe(columnsRef, true);
  }
  if (stmt.rewrite && stmt.analysis) {
    trackRewritten(st, stmt.sql, stmt.analysis, false, stmt.rewrite);
    return;
  }
  const entry = trackStatement(st, stmt.sql, stmt.analysis, { params: portal.params, columnsRef, ...(review ? { review: { decision: 'review', ...review } } : {}) });
  entry.formats = portal.formats;
  // Running what SQL PREPARE or DECLARE named runs the statement inside: it names nothing again.
  if (stmt.bySql) delete entry.onComplete;
  if (review) {
    st.holds.push({
      held: { sql: stmt.sql, ...(portal.params.length ? { params: portal.params } : {}), ...review },
      entry,
      refuse,
      analysis: stmt.analysis,
    });
  }
}

/** A Bind parameter as the audit log keeps it: text as sent, binary as hex, cut past 64 KiB. */
function paramText(p: Buffer | null, formats: number[], i: number): string | null {
  if (p === null) return null;
  const format = formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[i];
  const text = format === 1 ? `\\x${p.toString('hex')}` : p.toString('utf8');
  return text.length > MAX_AUDITED_PARAM ? `${text.slice(0, MAX_AUDITED_PARAM)}…(${p.length} bytes)` : text;
}
