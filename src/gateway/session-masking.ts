// A session's inline masking: what each statement may let out (its flow, worked out from the parse tree and
// the catalog before the statement is forwarded), how each result is rewritten (a plan per RowDescription,
// compiled per result format), and what the audit log and the recording may keep of the statement's text.
import { unwrap, type AnalyzedStatement } from '../policy/index.js';
import {
  CopyOutRewriter, buildColumnPlan, buildCopyPlan, compileRowPlan, maskParameterValue, maskReport, maskingDenial, readsMasked, redactAllLiterals, redactForAudit,
  redactParams, redactQueryForAudit, rewriteDataRow, rewriteNotification, type ColumnPlan, type MaskedReads, type MaskFlow, type MaskingPolicy, type RowPlan,
} from '../masking/index.js';
import { BackendType, parameterStatus, readParameterStatus, readReportFields, reportMessage, type FieldDescription } from '../pgwire/index.js';
import type { CatalogCache } from './catalog.js';

/** A result's columns as masking needs them, attached to the statement, portal or simple query that produces it. */
export interface ResultShape {
  plan?: readonly ColumnPlan[];
  typeOids?: readonly number[];
  /** the columns could not be established: the result is refused */
  refusal?: string;
}

export interface Verdict {
  rule: string;
  message: string;
}

// Statements whose flow could not be worked out (the catalog failed): refused, never passed unmasked.
const UNKNOWN: unique symbol = Symbol('flow unknown');

export class SessionMasking {
  private readonly prepared = new Map<string, MaskFlow>();
  // EXECUTE and FETCH return what the session's PREPARE or DECLARE of that name returns: their flows are not
  // cached by text (the catalog's cache) and outlive the chunk only while that PREPARE or DECLARE is the one
  // they were worked out from (a name prepared again in between gets its EXECUTE worked out again).
  private readonly sessionFlows = new WeakMap<AnalyzedStatement, { flow: MaskFlow; basis: MaskFlow | undefined }>();
  private readonly cursors = new Map<string, MaskFlow>();
  private readonly flows = new Map<AnalyzedStatement, MaskFlow | typeof UNKNOWN>();
  // A statement run again answers the same RowDescription (the session hands back the same fields array for
  // the same bytes): its shape is kept while the flow and the catalog it came from are the same.
  private readonly shapes = new WeakMap<readonly FieldDescription[], { flow: MaskFlow | undefined; version: number; shape: ResultShape }>();
  private readonly rowPlans = new WeakMap<ResultShape, Map<string, RowPlan | undefined>>();
  // Whether a statement read masked data, worked out while its flow is at hand (an error arrives later).
  private readonly maskedReads = new WeakMap<AnalyzedStatement, MaskedReads>();

  constructor(
    readonly policy: MaskingPolicy,
    private readonly catalog: CatalogCache,
  ) {}

  /**
   * Works out the flows of these statements before their messages are processed. Undefined when all are
   * known already (the common case: no promise on the hot path).
   */
  prepare(statements: readonly AnalyzedStatement[]): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    for (const s of statements) {
      if (this.flows.has(s)) continue;
      const hit = this.catalog.cachedFlow(s, this.policy);
      if (hit) {
        this.flows.set(s, hit);
        continue;
      }
      waits.push(
        this.catalog.flowFor(s, this.policy, { prepared: this.prepared, cursors: this.cursors }).then(
          (f) => {
            this.flows.set(s, f);
            const basis = this.basisOf(s);
            if (basis !== null) this.sessionFlows.set(s, { flow: f, basis });
          },
          () => void this.flows.set(s, UNKNOWN),
        ),
      );
    }
    return waits.length ? Promise.all(waits).then(() => undefined) : undefined;
  }

  /** Forgets the flows worked out for a processed chunk (the catalog keeps its own cache). */
  done(): void {
    this.flows.clear();
  }

  flow(stmt: AnalyzedStatement | undefined): MaskFlow | undefined {
    if (!stmt) return undefined;
    const f = this.flows.get(stmt) ?? this.catalog.cachedFlow(stmt, this.policy) ?? this.sessionFlow(stmt);
    return f === UNKNOWN ? undefined : f;
  }

  private sessionFlow(stmt: AnalyzedStatement): MaskFlow | undefined {
    const kept = this.sessionFlows.get(stmt);
    return kept && kept.basis === this.basisOf(stmt) ? kept.flow : undefined;
  }

  /** The flow of the PREPARE or DECLARE an EXECUTE or FETCH names (undefined: none known); null for other statements. */
  private basisOf(stmt: AnalyzedStatement): MaskFlow | undefined | null {
    const w = unwrap(stmt.node);
    if (w?.[0] === 'ExecuteStmt') return this.prepared.get(String(w[1].name ?? ''));
    if (w?.[0] === 'FetchStmt') return this.cursors.get(String(w[1].portalname ?? ''));
    return null;
  }

  /** A statement masking cannot let run: its flow is unknown, it would leak (casts, writes...), or it filters on masked data. */
  refusal(stmt: AnalyzedStatement): Verdict | undefined {
    const f = this.flows.get(stmt) ?? this.catalog.cachedFlow(stmt, this.policy);
    if (f === undefined || f === UNKNOWN) return { rule: 'masking', message: 'which columns this statement reads could not be established, so it is refused' };
    const err = maskingDenial(f, this.policy);
    if (err) return { rule: 'masking', message: err.message };
    return undefined;
  }

  /**
   * A SQL PREPARE or DECLARE PostgreSQL has made: EXECUTE and FETCH of its name return what `flow` (the flow it
   * was decided with) returns. Without a flow the name is dropped, so what runs under it counts as unknown.
   */
  named(effect: { kind: 'prepare' | 'declare'; name: string }, flow: MaskFlow | undefined): void {
    const names = effect.kind === 'prepare' ? this.prepared : this.cursors;
    if (flow) names.set(effect.name, flow);
    else names.delete(effect.name);
  }

  /** DEALLOCATE, CLOSE or DISCARD ALL that PostgreSQL has run: the names it removed no longer have a flow. */
  forget(effect: { kind: 'deallocate' | 'close'; name: string | undefined } | { kind: 'discard-all' }): void {
    if (effect.kind !== 'close') {
      if (effect.kind === 'deallocate' && effect.name !== undefined) this.prepared.delete(effect.name);
      else this.prepared.clear();
    }
    if (effect.kind !== 'deallocate') {
      if (effect.kind === 'close' && effect.name !== undefined) this.cursors.delete(effect.name);
      else this.cursors.clear();
    }
  }

  /** The statement's text as the audit log and the recording keep it: literals compared with masked columns redacted. */
  auditSql(stmt: AnalyzedStatement | undefined, sql: string): string {
    const f = this.flow(stmt);
    // Text that could not be analysed keeps no literal at all.
    return f ? redactForAudit(sql, f) : redactAllLiterals(sql);
  }

  /** A whole query string of several statements, for the one event that refuses all of it. */
  auditQuery(sql: string, stmts: readonly AnalyzedStatement[]): string {
    const parts = stmts.map((stmt) => ({ stmt, flow: this.flow(stmt) }));
    if (parts.some((p) => !p.flow)) return redactAllLiterals(sql);
    return redactQueryForAudit(sql, parts as { stmt: AnalyzedStatement; flow: MaskFlow }[]);
  }

  /**
   * Bytes of a text that is not UTF-8, as the audit log keeps them: every literal redacted (nothing could be
   * analysed). Read as latin1, one character a byte, so the bytes around the literals come back unchanged.
   */
  auditBytes(bytes: Buffer): Buffer {
    return Buffer.from(redactAllLiterals(bytes.toString('latin1')), 'latin1');
  }

  auditParams(stmt: AnalyzedStatement | undefined, params: (string | null)[]): (string | null)[] {
    const f = this.flow(stmt);
    // Without a flow nobody can tell which parameters are guesses at masked values: keep none.
    return f ? (redactParams(params, f) as (string | null)[]) : params.map((p) => (p === null ? null : '***'));
  }

  /** The plan for a RowDescription; columns whose origin the catalog does not hold yet count as unknown (masked). */
  shape(fields: readonly FieldDescription[], stmt: AnalyzedStatement | undefined): ResultShape {
    const flow = this.flow(stmt);
    const version = this.catalog.version;
    const kept = this.shapes.get(fields);
    if (kept && kept.flow === flow && kept.version === version) return kept.shape;
    const lookup = this.catalog.columnSources(fields);
    if (lookup.missing.length) void this.catalog.prefetch(lookup.missing).catch(() => undefined);
    const columns = fields.map((f, i) => ({ name: f.name, typeOid: f.typeOid, format: f.format, source: lookup.sources[i] }));
    const r = buildColumnPlan(columns, flow, this.policy);
    const shape = 'refusal' in r ? { refusal: r.refusal.message } : { plan: r.plan, typeOids: fields.map((f) => f.typeOid) };
    // Columns the catalog did not hold yet are masked for now; that shape is not kept.
    if (lookup.missing.length === 0) this.shapes.set(fields, { flow, version, shape });
    return shape;
  }

  rowPlan(shape: ResultShape, formats: readonly number[]): RowPlan | undefined {
    if (!shape.plan || !shape.typeOids) return undefined;
    let plans = this.rowPlans.get(shape);
    if (!plans) this.rowPlans.set(shape, (plans = new Map()));
    const key = formats.join(',');
    if (plans.has(key)) return plans.get(key);
    const n = shape.plan.length;
    // Bind gives no codes (all text), one code for all, or one per column.
    const f = formats.length === 0 ? new Array<number>(n).fill(0) : formats.length === 1 ? new Array<number>(n).fill(formats[0]!) : formats;
    const plan = compileRowPlan(shape.plan, f, shape.typeOids, this.policy);
    plans.set(key, plan);
    return plan;
  }

  rewriteRow(buf: Buffer, off: number, len: number, plan: RowPlan): Buffer | undefined {
    return rewriteDataRow(buf, off, len, plan);
  }

  /** A rewriter for COPY ... TO STDOUT data, or a refusal when the copied columns cannot be established. */
  copyOut(stmt: AnalyzedStatement | undefined, columns: number): CopyOutRewriter | { refusal: string } {
    const copy = this.flow(stmt)?.copy;
    if (!copy) return { refusal: 'the columns of this COPY could not be established, so it is refused' };
    const r = buildCopyPlan(copy, columns, this.policy);
    if ('refusal' in r) return { refusal: r.refusal.message };
    return new CopyOutRewriter(copy.options, r.plan, this.policy);
  }

  notification(buf: Buffer, off: number, len: number): Buffer | undefined {
    return rewriteNotification(buf, off, len, this.policy);
  }

  /**
   * Whether the statement reads masked data, so that PostgreSQL's reports about it are withheld. A statement
   * without analysis, or whose flow is not known, does (fail closed).
   */
  readsMasked(stmt: AnalyzedStatement | undefined): MaskedReads {
    if (!stmt) return true;
    const kept = this.maskedReads.get(stmt);
    if (kept !== undefined) return kept;
    const flow = this.flow(stmt);
    const reads = readsMasked(flow, stmt, this.policy);
    // Only a known flow's answer is kept: an unknown one may be worked out with the next chunk.
    if (flow) this.maskedReads.set(stmt, reads);
    return reads;
  }

  /**
   * An ErrorResponse or NoticeResponse as the client, the audit log and the recording may see it: withheld
   * (all but severity, SQLSTATE and position) when its statement read masked data, else scanned by the
   * detectors. `rewritten` is set when the message changed; code and message are what is left of the report.
   */
  report(buf: Buffer, off: number, len: number, withhold: MaskedReads): { severity: string; code: string; message: string; rewritten?: Buffer } {
    const fields = readReportFields(buf, off, len);
    const isError = buf[off] === BackendType.ErrorResponse;
    const masked = maskReport(fields, this.policy, withhold, isError);
    const kept = masked ?? fields;
    // V is never localized; S is, and is all a server before 9.6 sends.
    const severity = (kept.find((f) => f.code === 'V') ?? kept.find((f) => f.code === 'S'))?.value ?? '';
    const code = kept.find((f) => f.code === 'C')?.value ?? '';
    const message = kept.find((f) => f.code === 'M')?.value ?? '';
    return masked ? { severity, code, message, rewritten: reportMessage(isError ? 'E' : 'N', masked) } : { severity, code, message };
  }

  /**
   * A ParameterStatus whose value changed: withheld when it arrived during a statement that read masked data (a
   * function setting application_name to what it read), else scanned by the detectors. Undefined when unchanged.
   */
  parameterStatus(buf: Buffer, off: number, len: number, withhold: MaskedReads): Buffer | undefined {
    const p = readParameterStatus(buf, off, len);
    const value = maskParameterValue(p.name, p.value, this.policy, withhold);
    return value === p.value ? undefined : parameterStatus(p.name, value);
  }

  /** DDL through the gateway changes what the catalog says; the cache starts over. */
  schemaChanged(): void {
    this.catalog.invalidate();
    this.flows.clear();
  }
}
