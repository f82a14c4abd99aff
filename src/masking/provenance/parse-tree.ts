// Reading libpg-query's JSON parse tree: the helpers live with the policy's analysis (one place); the masking
// analysis uses the same ones.
export { isObject, unwrap, bodyOf, list, str, nameParts, type ParseObject } from '../../policy/index.js';
