// The decision on a query string of one or more statements: the one merge the gateway runs (a Query, a Parse)
// and the policy tests exercise. A string is decided as a whole: one denial denies all of it, one review holds
// all of it; the first statement of the strictest decision names the rule.
//
// Inputs besides the rules, in the order they apply:
//   1. `refused`: a refusal of the whole string before any statement is decided (the task's data budget spent,
//      text the gateway does not analyse: not UTF-8, too large, a protocol rule);
//   2. a text that does not parse is refused (rule `syntax`);
//   3. per statement: the role's rules (`decide`), then review-by-effect (`rowsOver`: holdByEffect), then what a
//      SQL EXECUTE of a known name runs (`prepared`), then masking's refusal (`maskingRefusal`).
import type { Decision } from './compile-policy.js';
import { holdByEffect } from './review.js';
import type { Analysis, AnalyzedStatement } from './statement.js';

/** A refusal from outside the rules (budget, masking, the gateway's protocol rules). */
export interface Refusal {
  rule: string;
  message: string;
  /** the SQLSTATE it is answered with when not 42501 */
  sqlState?: string;
}

/**
 * What a SQL EXECUTE of a name runs, as the session knows the name: the statement its PREPARE made; `null` when
 * the name is known but its statement's own decision does not apply (it was refused itself, or holds no
 * statement); `undefined` when the session never saw it prepared (the EXECUTE would run something undecided).
 */
export type PreparedName = AnalyzedStatement | null | undefined;

export interface StatementInputs {
  /** one statement's decision by the identity's rules (compiled-policy decide) */
  decide(stmt: AnalyzedStatement): Decision;
  /** review-by-effect: the smallest `review.rowsOver` of the identity's roles; writes the rules allow are then held */
  rowsOver?: number | undefined;
  /** masking's refusal of a statement it cannot let run; asked only of statements not already denied */
  maskingRefusal?(stmt: AnalyzedStatement): Refusal | undefined;
  /** what a SQL EXECUTE of `name` runs in the session; without it an EXECUTE is decided as itself */
  prepared?(name: string): PreparedName;
}

const STRICTNESS: Readonly<Record<Decision['decision'], number>> = { allow: 0, review: 1, deny: 2 };

/** The decision on a whole query string (see the head of this file for the order of its inputs). */
export function decideStatements(analysis: Analysis, inputs: StatementInputs, refused?: Refusal): Decision {
  if (refused) return { decision: 'deny', ...refused };
  if (analysis.error !== undefined) return { decision: 'deny', rule: 'syntax', message: `the statement does not parse (${analysis.error}), so it is refused` };
  let strictest: Decision | undefined;
  // A PREPARE earlier in the same string names what a later EXECUTE in it runs (made only when there is one).
  let earlier: Map<string, AnalyzedStatement> | undefined;
  for (const stmt of analysis.statements) {
    const d = decideOne(stmt, inputs, earlier);
    if (stmt.wrapper === 'prepare' && stmt.preparedName !== undefined) (earlier ??= new Map()).set(stmt.preparedName, stmt);
    if (strictest === undefined || STRICTNESS[d.decision] > STRICTNESS[strictest.decision]) strictest = d;
    if (d.decision === 'deny') break;
  }
  return strictest ?? { decision: 'allow', rule: 'empty' };
}

/** One statement of the string, with every per-statement input applied. */
function decideOne(stmt: AnalyzedStatement, inputs: StatementInputs, earlier: ReadonlyMap<string, AnalyzedStatement> | undefined): Decision {
  let d = byRules(stmt, inputs);
  if (stmt.kind === 'execute' && stmt.preparedName !== undefined && inputs.prepared) d = byName(stmt.preparedName, d, inputs, earlier);
  if (d.decision !== 'deny') {
    const masked = inputs.maskingRefusal?.(stmt);
    if (masked) d = { decision: 'deny', ...masked };
  }
  return d;
}

function byRules(stmt: AnalyzedStatement, inputs: StatementInputs): Decision {
  return holdByEffect(inputs.decide(stmt), stmt, inputs.rowsOver);
}

/**
 * SQL EXECUTE of a name the session knows runs that statement: it is decided as the statement itself (a PREPAREd
 * UPDATE held for review is held at every EXECUTE too, whatever a rule says of kind `execute`; a PREPAREd catalog
 * query pg_dump runs is allowed without a rule for kind `execute`). A rule that names kind `execute` can still
 * make it stricter.
 */
function byName(name: string, d: Decision, inputs: StatementInputs, earlier: ReadonlyMap<string, AnalyzedStatement> | undefined): Decision {
  const named = earlier?.get(name) ?? inputs.prepared!(name);
  if (named === undefined) return { decision: 'deny', rule: 'protocol', message: `prepared statement "${name}" was not prepared in this session through the gateway` };
  if (named === null) return d;
  const own = byRules(named, inputs);
  if (d.rule === 'default') return own;
  return STRICTNESS[own.decision] > STRICTNESS[d.decision] ? own : d;
}
