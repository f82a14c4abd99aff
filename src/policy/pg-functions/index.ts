// PostgreSQL's own functions and operators: pg_proc's facts and what the gateway concludes from them.
export { pgFunctionFacts, allPgFunctions, SUPPORTED_PG_VERSIONS } from './catalogue.js';
export type { PgFunctionFacts, Volatility } from './catalogue.js';
export { classifyFunction, mayTakeProtectedArg, operandMayBeProtected, evidentlyArray, evidentlyJson, reviewedFunctionLists } from './classification.js';
export type { FunctionClass, ResultSource } from './classification.js';
