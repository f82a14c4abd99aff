// A rule compiled to one predicate over an analyzed statement. Lists in a rule read two ways, by action:
//   allow          a whitelist: everything the statement does, reads, writes, calls or sets must be listed
//                  (a rule that names relations covers every relation the statement touches);
//   deny / review  a trigger: one listed thing the statement does, reads, writes, calls or sets is enough.
// Conditions of one rule must all hold. An unclassified statement matches only rules that ask for it.
import { anyOf, compileFunctionGlob, compileGlob, compileRelationGlob, type NameTest } from './glob.js';
import type { Rule, RuleAction } from './rule-schema.js';
import type { AnalyzedStatement, StatementKind } from './statement.js';

export interface CompiledRule {
  name: string;
  action: RuleAction;
  message: string;
  /** where the rule comes from: 'agent-safe' or the role's name */
  source: string;
  matches(stmt: AnalyzedStatement): boolean;
}

type Check = (stmt: AnalyzedStatement) => boolean;

// RESET ALL leaves these alone (PostgreSQL marks them GUC_NO_RESET_ALL), so a rule about them is not about RESET ALL.
const KEPT_BY_RESET_ALL = new Set(['role', 'session_authorization', 'transaction_isolation', 'transaction_read_only', 'transaction_deferrable']);

export function compileRule(rule: Rule, source: string): CompiledRule {
  const m = rule.match;
  const allow = rule.action === 'allow';
  const checks: Check[] = [];
  const every = (items: readonly string[], test: NameTest) => items.every(test);
  const some = (items: readonly string[], test: NameTest) => items.some(test);
  const listCheck = allow ? every : some;

  if (m.unclassified !== undefined) checks.push((s) => (s.unclassified !== undefined) === m.unclassified);
  if (m.kinds) {
    const kinds = new Set<StatementKind>(m.kinds);
    const test: NameTest = (k) => kinds.has(k as StatementKind);
    checks.push((s) => listCheck(s.kinds, test));
  }
  if (allow) {
    if (m.reads || m.writes || m.tables) {
      const readable = relationTest([...(m.reads ?? []), ...(m.tables ?? [])]);
      const writable = relationTest([...(m.writes ?? []), ...(m.tables ?? [])]);
      checks.push((s) => every(s.reads, readable) && every(s.writes, writable));
    }
  } else {
    if (m.reads) pushSome(checks, 'reads', relationTest(m.reads));
    if (m.writes) pushSome(checks, 'writes', relationTest(m.writes));
    if (m.tables) pushSome(checks, 'tables', relationTest(m.tables));
  }
  if (m.functions) {
    const test = anyOf(m.functions.map(compileFunctionGlob));
    checks.push((s) => listCheck(s.functions, test));
  }
  if (m.settings) checks.push(settingsCheck(m.settings, allow));
  if (m.whereless !== undefined) checks.push((s) => s.whereless === m.whereless);
  if (m.resetsAll !== undefined) checks.push((s) => s.resetsAll === m.resetsAll);
  if (m.writesMoreThan !== undefined) {
    const n = m.writesMoreThan;
    checks.push((s) => s.writes.length > n);
  }
  if (m.copyProgram !== undefined) checks.push((s) => s.copyProgram === m.copyProgram);
  if (m.copyFile !== undefined) checks.push((s) => s.copyFile === m.copyFile);

  const wantsUnclassified = m.unclassified === true;
  return {
    name: rule.name,
    action: rule.action,
    message: rule.message ?? defaultMessage(rule),
    source,
    matches(stmt) {
      if (stmt.unclassified !== undefined && !wantsUnclassified) return false;
      for (const c of checks) if (!c(stmt)) return false;
      return true;
    },
  };
}

function relationTest(patterns: readonly string[]): NameTest {
  if (patterns.length === 0) return () => false;
  return anyOf(patterns.map(compileRelationGlob));
}

function pushSome(checks: Check[], field: 'reads' | 'writes' | 'tables', test: NameTest): void {
  checks.push((s) => s[field].some(test));
}

function settingsCheck(patterns: readonly string[], allow: boolean): Check {
  const test = anyOf(patterns.map(compileGlob));
  if (allow) {
    // RESET ALL changes every setting: only a rule that allows every setting ('*') covers it.
    const coversAll = patterns.includes('*');
    return (s) => (!s.resetsAll || coversAll) && s.settings.every(test);
  }
  const aboutResettable = patterns.some((p) => !KEPT_BY_RESET_ALL.has(p));
  return (s) => (s.resetsAll && aboutResettable) || s.settings.some(test);
}

function defaultMessage(rule: Rule): string {
  if (rule.action === 'deny') return `refused by rule "${rule.name}"`;
  if (rule.action === 'review') return `held for review by rule "${rule.name}"`;
  return `allowed by rule "${rule.name}"`;
}
