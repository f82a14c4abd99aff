// Data-modifying statements (INSERT, UPDATE, DELETE, MERGE, also inside CTEs): what their RETURNING carries,
// where they would write masked data (refused unless it goes back into the masked column it came from), and
// which literals are written into masked columns (kept out of the audit log).
import type { Strategy } from '../strategies.js';
import type { FlowAnalyzer, Scope } from './analyzer.js';
import { bodyOf, isObject, list, str, type ParseObject } from './parse-tree.js';
import { qualifyRelation } from './relation-name.js';
import { EMPTY_SHAPE, TableShape, expand, wholeOf, type QueryShape, type RelationShape } from './shapes.js';
import { isTainted, type Taint } from './taint.js';

export function insertFlow(a: FlowAnalyzer, b: ParseObject, parent: Scope | undefined): QueryShape {
  const scope = a.newScope(parent);
  if (isObject(b.withClause)) a.withClause(b.withClause, scope);
  const target = writeTarget(a, b.relation);
  if (!target) return EMPTY_SHAPE;
  const cols = list(b.cols).map((c) => str(bodyOf(c, 'ResTarget')?.name) ?? '');
  const order = cols.length ? cols : a.options.tableColumns?.get(target.qualified);
  const sel = bodyOf(b.selectStmt, 'SelectStmt');
  if (sel && Array.isArray(sel.valuesLists) && (str(sel.op) ?? 'SETOP_NONE') === 'SETOP_NONE') {
    if (isObject(sel.withClause)) a.withClause(sel.withClause, scope);
    for (const row of sel.valuesLists) {
      list(bodyOf(row, 'List')?.items).forEach((item, i) => assign(a, target, order ? order[i] : undefined, a.expr(item, scope), item));
    }
  } else if (sel) {
    const shape = a.select(sel, scope);
    const outs = expand(shape.items);
    // Literals can be placed by position only in a plain SELECT list without stars; otherwise every
    // literal of the query may be the one that lands in a masked column.
    const targets = list(sel.targetList);
    const placed = outs !== undefined && targets.length === outs.length && (str(sel.op) ?? 'SETOP_NONE') === 'SETOP_NONE';
    if (!placed && (target.masked?.size ?? 0) > 0) a.markConstants(sel);
    if (outs) outs.forEach((c, i) => assign(a, target, order ? order[i] : undefined, c.taint, placed ? targets[i] : undefined));
    else assign(a, target, undefined, wholeOf(shape.items), undefined);
  }
  const oc = isObject(b.onConflictClause) ? b.onConflictClause : undefined;
  if (oc) {
    const ocScope = a.newScope(scope);
    ocScope.rels.push(target.rel, new TableShape('excluded', target.qualified, target.masked));
    assignments(a, oc.targetList, ocScope, target);
    if (oc.whereClause !== undefined) a.filterClause(oc.whereClause, ocScope, 'ON CONFLICT ... WHERE');
  }
  return returning(a, b, scope, target);
}

/** UPDATE, DELETE and MERGE: the WITH clause, the written table, and a scope where its columns are seen. */
function openWrite(a: FlowAnalyzer, b: ParseObject, parent: Scope | undefined) {
  const scope = a.newScope(parent);
  if (isObject(b.withClause)) a.withClause(b.withClause, scope);
  const target = writeTarget(a, b.relation);
  if (!target) return undefined;
  scope.rels.push(target.rel);
  scope.starRels.push(target.rel);
  return { scope, target };
}

export function updateFlow(a: FlowAnalyzer, b: ParseObject, parent: Scope | undefined): QueryShape {
  const opened = openWrite(a, b, parent);
  if (!opened) return EMPTY_SHAPE;
  const { scope, target } = opened;
  for (const f of list(b.fromClause)) a.fromItem(f, scope);
  assignments(a, b.targetList, scope, target);
  if (b.whereClause !== undefined) a.filterClause(b.whereClause, scope, 'WHERE');
  return returning(a, b, scope, target);
}

export function deleteFlow(a: FlowAnalyzer, b: ParseObject, parent: Scope | undefined): QueryShape {
  const opened = openWrite(a, b, parent);
  if (!opened) return EMPTY_SHAPE;
  const { scope, target } = opened;
  for (const f of list(b.usingClause)) a.fromItem(f, scope);
  if (b.whereClause !== undefined) a.filterClause(b.whereClause, scope, 'WHERE');
  return returning(a, b, scope, target);
}

export function mergeFlow(a: FlowAnalyzer, b: ParseObject, parent: Scope | undefined): QueryShape {
  const opened = openWrite(a, b, parent);
  if (!opened) return EMPTY_SHAPE;
  const { scope, target } = opened;
  a.fromItem(b.sourceRelation, scope);
  if (b.joinCondition !== undefined) a.filterClause(b.joinCondition, scope, 'MERGE ... ON');
  for (const c of list(b.mergeWhenClauses)) {
    const when = bodyOf(c, 'MergeWhenClause');
    if (!when) continue;
    if (when.condition !== undefined) a.filterClause(when.condition, scope, 'MERGE ... WHEN');
    if (when.commandType === 'CMD_INSERT') {
      const names = list(when.targetList).map((t) => str(bodyOf(t, 'ResTarget')?.name) ?? '');
      const order = names.length ? names : a.options.tableColumns?.get(target.qualified);
      list(when.values).forEach((v, i) => assign(a, target, order ? order[i] : undefined, a.expr(v, scope), v));
    } else if (when.commandType === 'CMD_UPDATE') assignments(a, when.targetList, scope, target);
  }
  return returning(a, b, scope, target);
}

function writeTarget(a: FlowAnalyzer, relation: unknown): Target | undefined {
  const rv = bodyOf(relation, 'RangeVar');
  if (!rv) return undefined;
  const relname = str(rv.relname) ?? '';
  const qualified = qualifyRelation(str(rv.schemaname) || undefined, relname, rv.relpersistence === 't');
  const alias = str(bodyOf(rv.alias, 'Alias')?.aliasname) ?? relname;
  const masked = a.policy.relations.get(qualified);
  return { qualified, masked, rel: a.relation(qualified, alias) };
}

/** SET col = expr (UPDATE, ON CONFLICT DO UPDATE, MERGE ... UPDATE). */
function assignments(a: FlowAnalyzer, targetList: unknown, scope: Scope, target: Target): void {
  for (const t of list(targetList)) {
    const rt = bodyOf(t, 'ResTarget');
    const col = str(rt?.name);
    if (!rt || !col) continue;
    const multi = bodyOf(rt.val, 'MultiAssignRef');
    let taint: Taint;
    let valueNode: unknown = rt.val;
    if (multi) {
      // SET (a, b) = (x, y): the colno-th element of the row, or the whole source when it is a subquery.
      const row = bodyOf(multi.source, 'RowExpr');
      const colno = typeof multi.colno === 'number' ? multi.colno : 0;
      valueNode = row ? list(row.args)[colno - 1] : multi.source;
    }
    taint = a.expr(valueNode, scope);
    assign(a, target, col, taint, valueNode);
  }
}

/**
 * A value written to target.column. Masked data may only go back into the masked column it came from
 * (SET ssn = upper(ssn)); anywhere else it would be readable unmasked afterwards. A literal written into a
 * masked column is the masked value itself, and stays out of the audit log.
 */
function assign(a: FlowAnalyzer, target: Target, column: string | undefined, taint: Taint, valueNode: unknown): void {
  const masked = column === undefined ? (target.masked?.size ?? 0) > 0 : target.masked?.has(column) === true;
  if (masked) a.markConstants(valueNode);
  if (!isTainted(taint)) return;
  const key = column === undefined ? undefined : `${target.qualified}.${column}`;
  const same = key !== undefined && masked && !taint.unknown && taint.origins.every((o) => o === key);
  if (!same) a.refuse('write', taint, `it would be written to ${key ?? target.qualified}, where it is no longer masked`);
}

function returning(a: FlowAnalyzer, b: ParseObject, scope: Scope, target: Target): QueryShape {
  const exprs = isObject(b.returningClause) ? (b.returningClause as ParseObject).exprs : b.returningList;
  if (!Array.isArray(exprs) || exprs.length === 0) return EMPTY_SHAPE;
  const rscope = a.newScope(scope);
  // RETURNING old.* / new.* (PostgreSQL 18) name the target row before and after; both carry its columns.
  const aliases = ['old', 'new'];
  for (const o of list(isObject(b.returningClause) ? (b.returningClause as ParseObject).options : undefined)) {
    const opt = bodyOf(o, 'ReturningOption');
    if (typeof opt?.value === 'string') aliases.push(opt.value);
  }
  for (const a of aliases) rscope.rels.push(new TableShape(a, target.qualified, target.masked));
  rscope.rels.push(target.rel);
  // RETURNING * is every column of the target and of the FROM / USING relations.
  rscope.starRels.push(...(scope.starRels.length ? scope.starRels : [target.rel]));
  rscope.starBlocked = scope.starBlocked;
  return { items: a.targets(exprs, rscope) };
}

interface Target {
  qualified: string;
  masked: ReadonlyMap<string, Strategy> | undefined;
  rel: RelationShape;
}
