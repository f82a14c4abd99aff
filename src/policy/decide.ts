// The one-call form of compilePolicy, for callers that hold a role config object: compiled once per object.
import { compilePolicy, type CompiledPolicy, type Decision, type PolicyIdentity } from './compile-policy.js';
import type { Role } from './roles.js';
import type { AnalyzedStatement } from './statement.js';

const compiled = new WeakMap<Readonly<Record<string, Role>>, CompiledPolicy>();

export function decideStatement(roles: Readonly<Record<string, Role>>, identity: PolicyIdentity, stmt: AnalyzedStatement): Decision {
  let policy = compiled.get(roles);
  if (!policy) {
    policy = compilePolicy(roles);
    compiled.set(roles, policy);
  }
  return policy.decide(identity, stmt);
}
