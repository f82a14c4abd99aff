// The decision on one statement for one identity. Statement rules per role arrive with the policy work;
// until then the spine allows what it can classify and refuses what it cannot (fail closed).
import type { AnalyzedStatement } from './analyze.js';
import type { Role } from './roles.js';

export interface Decision {
  decision: 'allow' | 'deny';
  rule?: string;
  message?: string;
}

export function decideStatement(
  _roles: Record<string, Role>,
  _identity: { name: string; kind: string; roles: string[] },
  stmt: AnalyzedStatement,
): Decision {
  if (stmt.kind === 'unknown') {
    return { decision: 'deny', rule: 'unclassified', message: 'the statement could not be classified, so it is refused' };
  }
  return { decision: 'allow' };
}
