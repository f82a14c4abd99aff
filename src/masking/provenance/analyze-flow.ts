// One statement to its MaskFlow. Fails closed: a statement the walk cannot finish (too deeply nested, a tree
// it does not understand) gets outputs of unknown origin and a refusal, never a clean bill.
import { analyzeExact, type AnalyzedStatement } from '../../policy/index.js';
import type { MaskingPolicy } from '../policy.js';
import { FlowAnalyzer } from './analyzer.js';
import { qualifyRelation } from './relation-name.js';
import { parseCopyOptions } from './copy-options.js';
import type { ColumnFlow, CopyFlow, FlowOptions, MaskFlow, OutputFlow, Refusal } from './flow.js';
import { bodyOf, isObject, list, nameParts, str, unwrap, type ParseObject } from './parse-tree.js';
import { expand, wholeOf, type QueryShape, type RelationShape } from './shapes.js';
import { allLiteralRanges, literalEnd } from './sql-literals.js';
import { CLEAN, isTainted, originTaint, union, unknownTaint, type Taint } from './taint.js';

const NO_OPTIONS: FlowOptions = Object.freeze({});
// Flows are pure functions of (statement, policy) when no options are given: the parse results are cached by
// text, so a statement run again costs one lookup here too.
const cache = new WeakMap<AnalyzedStatement, WeakMap<MaskingPolicy, MaskFlow>>();

export function analyzeMaskedFlow(stmt: AnalyzedStatement, policy: MaskingPolicy, options: FlowOptions = NO_OPTIONS): MaskFlow {
  const cacheable = options === NO_OPTIONS || Object.keys(options).length === 0;
  if (cacheable) {
    const hit = cache.get(stmt)?.get(policy);
    if (hit) return hit;
  }
  const flow = build(stmt, policy, options);
  if (cacheable) {
    let byPolicy = cache.get(stmt);
    if (!byPolicy) cache.set(stmt, (byPolicy = new WeakMap()));
    byPolicy.set(policy, flow);
  }
  return flow;
}

interface Result {
  output: OutputFlow | undefined;
  copy?: CopyFlow;
  cursor?: string;
  prepared?: string;
  inherited?: MaskFlow;
  unknownParams?: boolean;
}

/** Whether the tree nests deeper than `limit` (walked without recursion, so a hostile tree cannot overflow the stack). */
function deeperThan(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > limit) return true;
    if (typeof v !== 'object' || v === null) continue;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return false;
}

// PostgreSQL's own parser refuses far shallower trees (max_stack_depth); deeper ones are refused unwalked.
const MAX_TREE_DEPTH = 2_000;

function build(stmt: AnalyzedStatement, policy: MaskingPolicy, options: FlowOptions): MaskFlow {
  const a = new FlowAnalyzer(policy, options);
  let result: Result;
  let failure: Refusal | undefined;
  try {
    if (deeperThan(stmt.node, MAX_TREE_DEPTH)) throw new RangeError('the statement is nested too deeply');
    result = policy.columns.size === 0 ? unmaskedStatement(stmt.node, options) : statement(a, stmt.node, policy, options);
  } catch (err) {
    const why = err instanceof RangeError ? 'the statement is nested too deeply' : `the analysis failed (${(err as Error).message})`;
    failure = { reason: 'analysis', column: 'the result', message: `${why}; it cannot be checked for masked data` };
    result = { output: { head: [], tail: [], middle: unknownTaint('a statement the analysis could not follow') } };
  }
  if (a.constants.size > 0 && stmt.template !== undefined) {
    // A tree shared by every text of a numeric template (analyze.ts) has another text's offsets: literals
    // to redact are found on this text's own tree.
    const exact = analyzeExact(stmt.sql).statements[0];
    if (exact && exact.node !== stmt.node) return build(exact, policy, options);
  }
  const inherited = result.inherited;
  const literals = locateLiterals(stmt, a.constants);
  const params = new Set(a.params);
  if (inherited) for (const p of inherited.sensitiveParams) params.add(p);
  const refusal = failure ?? a.refusal ?? inherited?.refusal;
  const filter = a.filter ?? inherited?.filterOnMasked;
  const views = [...a.viewShapes.keys(), ...[...a.relations].filter((r) => options.opaqueRelations?.has(r))];
  return Object.freeze({
    output: result.output,
    relations: Object.freeze([...a.relations]),
    views: Object.freeze(views),
    sourceTaint: (relation: string, column: string) => sourceTaint(policy, options, a.viewShapes, relation, column),
    ...(filter ? { filterOnMasked: filter } : {}),
    ...(refusal ? { refusal } : {}),
    sensitiveLiterals: Object.freeze(literals),
    sensitiveParams: Object.freeze([...params].sort((x, y) => x - y)),
    ...(result.copy ? { copy: result.copy } : {}),
    ...(result.cursor !== undefined ? { cursor: result.cursor } : {}),
    ...(result.prepared !== undefined ? { prepared: result.prepared } : {}),
  });
}

function statement(a: FlowAnalyzer, node: ParseObject, policy: MaskingPolicy, options: FlowOptions): Result {
  const w = unwrap(node);
  if (!w) return { output: undefined };
  const [type, b] = w;
  switch (type) {
    case 'SelectStmt': {
      const shape = a.select(b, undefined);
      return { output: isObject(b.intoClause) ? undefined : outputOf(shape) };
    }
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return { output: outputOf(a.query(node, undefined)) };
    case 'ExplainStmt':
      // EXPLAIN shows a plan, not data; EXPLAIN ANALYZE runs the statement, whose filters and writes count.
      a.query(b.query, undefined);
      return { output: { head: [{ name: 'QUERY PLAN', taint: CLEAN }], tail: [] } };
    case 'PrepareStmt':
      return { ...statement(a, isObject(b.query) ? b.query : {}, policy, options), prepared: str(b.name) ?? '' };
    case 'DeclareCursorStmt':
      return { ...statement(a, isObject(b.query) ? b.query : {}, policy, options), cursor: str(b.portalname) ?? '' };
    case 'ExecuteStmt': {
      const name = str(b.name) ?? '';
      const prepared = options.prepared?.get(name);
      const params = list(b.params);
      // The values of EXECUTE name(...) are the prepared statement's $1, $2, ...
      params.forEach((p, i) => {
        if (!prepared || prepared.sensitiveParams.includes(i + 1)) a.markConstants(p);
      });
      for (const p of params) a.expr(p, a.newScope(undefined));
      if (!prepared) return { output: unknownOutput(`prepared statement ${name}, not seen by the gateway`) };
      return { output: prepared.output, inherited: { ...prepared, sensitiveParams: [] } };
    }
    case 'FetchStmt': {
      if (b.ismove) return { output: undefined };
      const name = str(b.portalname) ?? '';
      const cursor = options.cursors?.get(name);
      return { output: cursor ? cursor.output : unknownOutput(`cursor ${name}, not seen by the gateway`) };
    }
    case 'CopyStmt':
      return { output: undefined, copy: copyFlow(a, b, policy, options) };
    case 'CreateTableAsStmt': {
      const inner = unwrap(b.query);
      if (inner?.[0] === 'ExecuteStmt') {
        const prepared = options.prepared?.get(str(inner[1].name) ?? '');
        const t = prepared ? anyOutput(prepared.output) : unknownTaint('a prepared statement not seen by the gateway');
        if (isTainted(t)) a.refuse('write', t, 'CREATE TABLE AS would copy it into a new table where it is no longer masked');
      } else {
        const shape = a.query(b.query, undefined);
        const t = wholeOf(shape.items);
        if (isTainted(t)) a.refuse('write', t, `CREATE ${b.objtype === 'OBJECT_MATVIEW' ? 'MATERIALIZED VIEW' : 'TABLE'} AS would copy it where it is no longer masked`);
      }
      return { output: undefined };
    }
    case 'CallStmt': {
      const call = bodyOf(b.funccall, 'FuncCall');
      if (call) a.funcCall(call, a.newScope(undefined), b.funccall);
      return { output: unknownOutput('the OUT parameters of a procedure') };
    }
    case 'DoStmt':
      a.refuse('code', 'data read by the block', 'a DO block runs code the gateway cannot follow (it could RAISE masked values as notices)');
      return { output: undefined };
    case 'VariableShowStmt':
      return { output: { head: [{ name: str(b.name) ?? 'setting', taint: CLEAN }], tail: [] } };
    default:
      return { output: undefined };
  }
}

/** No masked column anywhere: nothing can carry masked data, only COPY needs its options (for the detectors). */
function unmaskedStatement(node: ParseObject, options: FlowOptions): Result {
  const w = unwrap(node);
  const clean: OutputFlow = { head: [], tail: [], middle: CLEAN };
  if (w?.[0] === 'CopyStmt') {
    const b = w[1];
    return {
      output: undefined,
      copy: { direction: b.is_from ? 'from' : 'to', endpoint: endpoint(b), options: parseCopyOptions(b.options), columns: undefined, any: CLEAN },
    };
  }
  if (w?.[0] === 'PrepareStmt') return { ...unmaskedStatement(isObject(w[1].query) ? w[1].query : {}, options), prepared: str(w[1].name) ?? '' };
  if (w?.[0] === 'DeclareCursorStmt') return { output: clean, cursor: str(w[1].portalname) ?? '' };
  return { output: clean };
}

function copyFlow(a: FlowAnalyzer, b: ParseObject, policy: MaskingPolicy, options: FlowOptions): CopyFlow {
  const copyOptions = parseCopyOptions(b.options);
  const direction = b.is_from ? 'from' : 'to';
  let columns: ColumnFlow[] | undefined;
  let any: Taint = CLEAN;
  if (b.query !== undefined) {
    const shape = a.query(b.query, undefined);
    columns = expand(shape.items)?.map((c) => ({ name: c.name, taint: c.taint }));
    any = wholeOf(shape.items);
  } else {
    const rv = bodyOf(b.relation, 'RangeVar') ?? {};
    const qualified = qualifyRelation(str(rv.schemaname) || undefined, str(rv.relname) ?? '', rv.relpersistence === 't');
    const rel = a.relation(qualified, str(rv.relname));
    const names = nameParts(b.attlist);
    const order = names.length ? names : (options.tableColumns?.get(qualified) ?? rel.columns()?.map((c) => c.name));
    columns = order?.map((name) => ({ name, taint: rel.lookup(name) }));
    any = columns ? columns.reduce((t, c) => union(t, c.taint), CLEAN) : rel.whole();
  }
  const where = endpoint(b);
  if (direction === 'to' && where !== 'client' && isTainted(any)) {
    a.refuse('copy', any, `COPY TO a ${where} would write it where it is no longer masked`);
  }
  if (direction === 'to' && copyOptions.encoding && !/^utf-?8$/i.test(copyOptions.encoding) && (isTainted(any) || policy.scanner)) {
    a.refuse('copy', isTainted(any) ? any : 'COPY output', `COPY ... ENCODING '${copyOptions.encoding}' cannot be masked: the gateway masks UTF-8 text`);
  }
  return Object.freeze({ direction, endpoint: where, options: copyOptions, columns: columns ? Object.freeze(columns) : undefined, any });
}

function endpoint(b: ParseObject): CopyFlow['endpoint'] {
  if (b.is_program) return 'program';
  return typeof b.filename === 'string' ? 'file' : 'client';
}

function outputOf(shape: QueryShape): OutputFlow {
  const head: ColumnFlow[] = [];
  const tail: ColumnFlow[] = [];
  let middle: Taint | undefined;
  for (const item of shape.items) {
    const cols = item.col ? [item.col] : item.star.columns();
    if (!cols) {
      // An unlisted star: what came after it so far belongs to the middle too.
      middle = union(middle ?? CLEAN, union(tail.reduce((t, c) => union(t, c.taint), CLEAN), item.star!.whole()));
      tail.length = 0;
      continue;
    }
    for (const c of cols) (middle === undefined ? head : tail).push({ name: c.name, taint: c.taint });
  }
  return middle === undefined ? { head, tail: [] } : { head, tail, middle };
}

function unknownOutput(why: string): OutputFlow {
  return { head: [], tail: [], middle: unknownTaint(why) };
}

function anyOutput(o: OutputFlow | undefined): Taint {
  if (!o) return CLEAN;
  let t = o.middle ?? CLEAN;
  for (const c of [...o.head, ...o.tail]) t = union(t, c.taint);
  return t;
}

function sourceTaint(
  policy: MaskingPolicy,
  options: FlowOptions,
  views: ReadonlyMap<string, RelationShape>,
  relation: string,
  column: string,
): Taint {
  let t = policy.relations.get(relation)?.has(column) ? originTaint(`${relation}.${column}`) : CLEAN;
  const view = views.get(relation);
  if (view) t = union(t, view.lookup(column));
  else if (options.opaqueRelations?.has(relation)) t = union(t, unknownTaint(`view ${relation}, whose definition is not available`));
  return t;
}

/**
 * Byte ranges in stmt.sql of the marked constants. The tree of a statement cut from a longer query string
 * holds offsets into that string; the statement's own text parses to the same tree with offsets into itself,
 * so the shift is the difference of the first location found in both.
 */
function locateLiterals(stmt: AnalyzedStatement, constants: ReadonlySet<number>): [number, number][] {
  if (constants.size === 0) return [];
  const bytes = Buffer.from(stmt.sql, 'utf8');
  const own = analyzeExact(stmt.sql).statements;
  const first = firstLocation(stmt.node);
  const ownFirst = own.length === 1 ? firstLocation(own[0]!.node) : undefined;
  // Should the text not parse back to the one statement, no offset can be trusted: every literal goes.
  if (first === undefined || ownFirst === undefined) return allLiteralRanges(bytes);
  const shift = first - ownFirst;
  const ranges: [number, number][] = [];
  for (const loc of [...constants].sort((x, y) => x - y)) {
    const start = loc - shift;
    if (start < 0 || start >= bytes.length) continue;
    ranges.push([start, literalEnd(bytes, start)]);
  }
  return ranges;
}

function firstLocation(v: unknown): number | undefined {
  if (Array.isArray(v)) {
    for (const x of v) {
      const l = firstLocation(x);
      if (l !== undefined) return l;
    }
    return undefined;
  }
  if (!isObject(v)) return undefined;
  for (const key in v) {
    const x = v[key];
    if (key === 'location' && typeof x === 'number' && x >= 0) return x;
    const l = firstLocation(x);
    if (l !== undefined) return l;
  }
  return undefined;
}
