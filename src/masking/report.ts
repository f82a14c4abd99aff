// What a masked session may see of the texts PostgreSQL writes itself: error and notice reports quote the
// values a statement worked on ("invalid input syntax for type integer: "<the value>"", a check constraint's
// failing row, a RAISE in a function), and no result masking ever touches them. A second wall behind the
// analysis that refuses such statements: the report of a statement that read masked data is withheld whole;
// every other report keeps PostgreSQL's text (an agent needs `relation "x" does not exist`), scanned by the
// content detectors as a result value is.
import type { MaskingPolicy } from './policy.js';
import type { MaskFlow, OutputFlow } from './provenance/flow.js';
import { isTainted } from './provenance/taint.js';
import { REDACTED } from './strategies.js';

/** One field of an ErrorResponse/NoticeResponse (the shape pgwire's readReportFields gives). */
export interface ReportText {
  readonly code: string;
  readonly value: string;
}

/**
 * How a statement touches masked data, for its reports: not at all; by known code only ('known-code': a SELECT
 * of built-in functions and views we were shown, writing nothing, so nothing runs that could put a value into
 * a text except PostgreSQL's own analysis of the statement, whose errors, SQLSTATE class 42, quote only the
 * statement's own words); or possibly through code the gateway cannot see (true).
 */
export type MaskedReads = boolean | 'known-code';

export const WITHHELD_ERROR = 'the statement failed; its error text is withheld because the statement read masked columns';
export const WITHHELD_NOTICE = 'a message of the statement is withheld because the statement read masked columns';

// Kept as they are when a report is withheld: severity, SQLSTATE, the position in the client's own text, and
// where in PostgreSQL's source the report was raised. Everything else can quote data and is left out.
const KEPT_WHEN_WITHHELD: ReadonlySet<string> = new Set(['S', 'V', 'C', 'P', 'F', 'L', 'R']);
// Never scanned: fixed words, numbers and source locations, no data.
const NOT_SCANNED: ReadonlySet<string> = new Set(['S', 'V', 'C', 'P', 'p', 'F', 'L', 'R']);

/**
 * The report's fields as the session may see them, or undefined when they pass unchanged. `withhold`: the
 * statement the report belongs to read masked data, so its texts go to nobody (client, audit or recording).
 */
export function maskReport(fields: readonly ReportText[], policy: MaskingPolicy, withhold: MaskedReads, isError: boolean): ReportText[] | undefined {
  // `column "x" does not exist` is what an agent needs most: raised before a row is read, it holds no value.
  if (withhold === 'known-code' && fields.find((f) => f.code === 'C')?.value.startsWith('42')) withhold = false;
  if (withhold) {
    const out: ReportText[] = [];
    for (const f of fields) {
      if (KEPT_WHEN_WITHHELD.has(f.code)) out.push(f);
      else if (f.code === 'M') out.push({ code: 'M', value: isError ? WITHHELD_ERROR : WITHHELD_NOTICE });
    }
    return out;
  }
  const scanner = policy.scanner;
  if (!scanner) return undefined;
  let out: ReportText[] | undefined;
  fields.forEach((f, i) => {
    if (NOT_SCANNED.has(f.code)) return;
    const value = scanner.scan(f.value);
    if (value === f.value) return;
    out ??= fields.slice();
    out[i] = { code: f.code, value };
  });
  return out;
}

// Reported parameters whose values PostgreSQL checks against a fixed vocabulary (and clients read results by):
// they cannot carry a value, and are never withheld. application_name and search_path are free text.
const CHECKED_PARAMETERS: ReadonlySet<string> = new Set([
  'client_encoding', 'datestyle', 'intervalstyle', 'timezone', 'integer_datetimes', 'standard_conforming_strings', 'is_superuser',
  'in_hot_standby', 'default_transaction_read_only', 'server_version', 'server_encoding', 'scram_iterations',
]);

/**
 * A ParameterStatus value as the session may see it: a function can set application_name to anything it read.
 * Withheld (free-text parameters only) when the statement it arrived during read masked data; else scanned by
 * the detectors.
 */
export function maskParameterValue(name: string, value: string, policy: MaskingPolicy, withhold: MaskedReads): string {
  if (withhold && !CHECKED_PARAMETERS.has(name.toLowerCase())) return value === '' ? value : REDACTED;
  return policy.scanner ? policy.scanner.scan(value) : value;
}

/**
 * Whether a statement reads masked data: a relation with masked columns is read (or written: a failing row is
 * quoted from the table), or a result column may carry masked data (a function of unknown origin included).
 * An unknown flow counts as reading it (fail closed).
 */
export function readsMasked(flow: MaskFlow | undefined, stmt: { readonly reads: readonly string[]; readonly writes: readonly string[] }, policy: MaskingPolicy): MaskedReads {
  if (!flow) return true;
  let reads = false;
  if (policy.columns.size > 0) {
    for (const r of flow.relations) if (policy.relations.has(r)) reads = true;
    for (const r of stmt.reads) if (policy.relations.has(r)) reads = true;
    for (const r of stmt.writes) if (policy.relations.has(r)) reads = true;
  }
  if (flow.output && outputTainted(flow.output)) reads = true;
  if (flow.copy && isTainted(flow.copy.any)) reads = true;
  if (!reads) return false;
  // Writes run triggers and check constraints, which quote the failing row; unknown code may raise anything.
  return stmt.writes.length === 0 && !(flow.output && outputUnknown(flow.output)) ? 'known-code' : true;
}

function outputUnknown(o: OutputFlow): boolean {
  if (o.middle?.unknown) return true;
  for (const c of o.head) if (c.taint.unknown) return true;
  for (const c of o.tail) if (c.taint.unknown) return true;
  return false;
}

function outputTainted(o: OutputFlow): boolean {
  if (o.middle && isTainted(o.middle)) return true;
  for (const c of o.head) if (isTainted(c.taint)) return true;
  for (const c of o.tail) if (isTainted(c.taint)) return true;
  return false;
}
