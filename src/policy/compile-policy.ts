// The decision on a statement for an identity, from a role config compiled once: globs become predicates,
// and the rule list for each combination of roles is built on first use and kept.
//
// Order of a decision:
//   1. a statement that changes a protected setting (forced by a role, or one the parser relies on) is refused;
//   2. rules, first match wins: AGENT_SAFE_RULES (when the `defaults` of any of the identity's roles say
//      agent-safe; unset means agent-safe for agents and bots; without no-advisory-locks when any role sets
//      allowAdvisoryLocks), then each role's rules in the order the
//      identity lists its roles (the order of the task certificate), each role's rules in config order;
//   3. no rule matched: an unclassified statement is refused, and so is anything from an agent or bot;
//      a person's statement is allowed.
import { LRUCache } from 'lru-cache';
import { ADVISORY_LOCKS_RULE, AGENT_SAFE_RULES } from './agent-safe.js';
import { compileRule, type CompiledRule } from './compile-rule.js';
import { protectedNames, protectedSettingViolation } from './protected-settings.js';
import type { Role } from './roles.js';
import { forcedSettingNames } from './session-settings.js';
import type { Analysis, AnalyzedStatement } from './statement.js';
import { unwrap } from './parse-node.js';
import { decideStatements } from './decide-statements.js';

export interface Decision {
  decision: 'allow' | 'deny' | 'review';
  /** the rule that decided, or a built-in: 'forced-setting', 'unclassified', 'default', 'syntax', 'empty' */
  rule?: string;
  message?: string;
  /**
   * A plain SET (SET, SET LOCAL, RESET) of settings the policy forces, and nothing else: the gateway may answer
   * it as done and leave the forced value in place, as pg_dump's `SET statement_timeout = 0` expects.
   */
  ignorable?: boolean;
  /** the SQLSTATE a denial is answered with when not 42501 (the gateway's refusals: 22021 for text not UTF-8) */
  sqlState?: string;
}

export interface PolicyIdentity {
  name: string;
  /** 'human' | 'agent' | 'bot'; anything else is treated as an agent */
  kind: string;
  roles: readonly string[];
}

export interface DecideOptions {
  /** more setting names to protect, on top of the ones the identity's roles force */
  forcedSettings?: Iterable<string>;
}

export interface CompiledPolicy {
  /** Decides one statement. Synchronous; repeated decisions on the same (cached) analysis cost one lookup. */
  decide(identity: PolicyIdentity, stmt: AnalyzedStatement, options?: DecideOptions): Decision;
  /** Decides a whole query string by the rules alone: decideStatements (the gateway's merge) with only `decide` as input. */
  decideAnalysis(identity: PolicyIdentity, analysis: Analysis, options?: DecideOptions): Decision;
}

interface RuleSet {
  rules: readonly CompiledRule[];
  forced: ReadonlySet<string>;
  human: boolean;
  roleList: string;
  memo: WeakMap<AnalyzedStatement, Decision>;
  /** decisions on statements that share their analysis (analyze.ts templates), by template */
  byTemplate: LRUCache<string, Decision>;
}

export interface CompileOptions {
  /** setting names protected for every identity on top of the ones its roles force (the gateway's
   *  application_name): given here, rather than per decide() call, so that decisions stay memoised */
  protectedSettings?: Iterable<string>;
}

export function compilePolicy(roles: Readonly<Record<string, Role>>, compileOptions: CompileOptions = {}): CompiledPolicy {
  const alwaysProtected = [...(compileOptions.protectedSettings ?? [])];
  const agentSafe = AGENT_SAFE_RULES.map((r) => compileRule(r, 'agent-safe'));
  const agentSafeWithLocks = agentSafe.filter((r) => r.name !== ADVISORY_LOCKS_RULE);
  const byRole = new Map<string, readonly CompiledRule[]>();
  for (const [name, role] of Object.entries(roles)) byRole.set(name, role.rules.map((r) => compileRule(r, name)));
  const sets = new Map<string, RuleSet>();

  function ruleSet(identity: PolicyIdentity): RuleSet {
    const key = `${identity.kind}\0${identity.roles.join('\0')}`;
    let set = sets.get(key);
    if (set) return set;
    const human = identity.kind === 'human';
    const known = identity.roles.filter((r) => roles[r] !== undefined);
    const wantsSafe = known.some((r) => (roles[r]!.defaults ?? (human ? 'none' : 'agent-safe')) === 'agent-safe');
    // An agent with no known role still gets the safe rules: there is no role to opt out.
    const safe = known.some((r) => roles[r]!.allowAdvisoryLocks === true) ? agentSafeWithLocks : agentSafe;
    const rules = [...(wantsSafe || (!human && known.length === 0) ? safe : []), ...known.flatMap((r) => byRole.get(r) ?? [])];
    set = {
      rules,
      forced: protectedNames([...forcedSettingNames(roles, known, identity.kind), ...alwaysProtected]),
      human,
      roleList: identity.roles.join(', ') || 'none',
      memo: new WeakMap(),
      // Bounded by the templates' size too: a template is as long as its statement.
      byTemplate: new LRUCache<string, Decision>({ max: 10_000, maxSize: 16 * 1024 * 1024, sizeCalculation: (_d, t) => t.length + 64 }),
    };
    sets.set(key, set);
    return set;
  }

  function evaluate(set: RuleSet, stmt: AnalyzedStatement, forced: ReadonlySet<string>): Decision {
    const violation = protectedSettingViolation(stmt, forced);
    if (violation) return { decision: 'deny', rule: 'forced-setting', message: violation, ...(onlySetsForced(stmt, forced) ? { ignorable: true } : {}) };
    if (stmt.kind === 'empty') return { decision: 'allow', rule: 'empty' };
    for (const rule of set.rules) {
      if (rule.matches(stmt)) return { decision: rule.action, rule: rule.name, message: rule.message };
    }
    if (stmt.unclassified !== undefined) {
      return { decision: 'deny', rule: 'unclassified', message: `the statement could not be classified (${stmt.unclassified}), so it is refused` };
    }
    if (set.human) return { decision: 'allow', rule: 'default' };
    return { decision: 'deny', rule: 'default', message: `no rule of your roles (${set.roleList}) allows this ${describe(stmt)}` };
  }

  function decide(identity: PolicyIdentity, stmt: AnalyzedStatement, options?: DecideOptions): Decision {
    const set = ruleSet(identity);
    if (options?.forcedSettings !== undefined) {
      const forced = new Set(set.forced);
      for (const n of protectedNames(options.forcedSettings)) forced.add(n);
      return evaluate(set, stmt, forced);
    }
    // A templated statement decides as every other text of its template: its facts are the same.
    const template = stmt.template;
    let d = template !== undefined ? set.byTemplate.get(template) : set.memo.get(stmt);
    if (!d) {
      d = Object.freeze(evaluate(set, stmt, set.forced));
      if (template === undefined) set.memo.set(stmt, d);
      else set.byTemplate.set(template, d);
    }
    return d;
  }

  function decideAnalysis(identity: PolicyIdentity, analysis: Analysis, options?: DecideOptions): Decision {
    return decideStatements(analysis, { decide: (stmt) => decide(identity, stmt, options) });
  }

  return { decide, decideAnalysis };
}

function describe(stmt: AnalyzedStatement): string {
  const what = stmt.kinds.join('/');
  const on = stmt.tables.length > 0 ? ` on ${stmt.tables.join(', ')}` : '';
  return `${what} statement${on}`;
}

/** SET / SET LOCAL / RESET of forced settings alone (not set_config, not RESET ALL, nothing else in the statement). */
function onlySetsForced(stmt: AnalyzedStatement, forced: ReadonlySet<string>): boolean {
  return (
    stmt.kind === 'set' && stmt.kinds.length === 1 && !stmt.resetsAll && stmt.functions.length === 0 &&
    stmt.settingChanges.length > 0 && stmt.settingChanges.every((c) => forced.has(c.name)) && unwrap(stmt.node)?.[0] === 'VariableSetStmt'
  );
}
