export { roleSchema, databaseGrantSchema, resolveDatabaseAccess, maxTtlOf, allowsName, PolicyError } from './roles.js';
export type { Role, DatabaseGrant, DatabaseAccess } from './roles.js';
export { analyze, loadParser } from './analyze.js';
export type { Analysis, AnalyzedStatement, StatementKind } from './analyze.js';
export { decideStatement } from './decide.js';
export type { Decision } from './decide.js';
