// Walks one statement's parse tree and collects what it does: the relations it reads and writes, the
// functions it calls, the settings it changes, and the DML hidden in CTEs or COPY (query). Every node is
// visited; only the nodes that matter for policy get special handling, so an unfamiliar node type hides nothing.
import { constantText, isObject, nameParts, unwrap, type ParseObject } from './parse-node.js';
import { qualifyRelation } from './relation-name.js';
import { isSettingsNameColumn, setConfigEffect, setStatementEffect, transactionModes } from './setting-changes.js';
import type { SettingChange, StatementKind } from './statement.js';

export interface StatementFacts {
  kinds: Set<StatementKind>;
  reads: Set<string>;
  writes: Set<string>;
  functions: Set<string>;
  settingChanges: SettingChange[];
  resetsAll: boolean;
  whereless: boolean;
  copyProgram: boolean;
  copyFile: boolean;
  unclassified?: string;
}

interface Scope {
  /** CTE names visible here: an unqualified reference to one is not a relation */
  ctes: ReadonlySet<string>;
  /** inside a DDL/DCL statement but outside any query: a relation named here is the object being changed */
  objects: boolean;
  /** in `SELECT ... FROM pg_settings WHERE name = 'x'`: the one setting the column `name` can hold */
  settingName?: string;
}

const DML_NODE: Readonly<Record<string, StatementKind>> = { InsertStmt: 'insert', UpdateStmt: 'update', DeleteStmt: 'delete', MergeStmt: 'merge' };
const MERGE_ACTION: Readonly<Record<string, StatementKind>> = { CMD_INSERT: 'insert', CMD_UPDATE: 'update', CMD_DELETE: 'delete' };
const RELATION_OBJECTS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE', 'OBJECT_SEQUENCE', 'OBJECT_INDEX']);
const NO_CTES: ReadonlySet<string> = new Set();

export class FactCollector {
  readonly facts: StatementFacts = {
    kinds: new Set(),
    reads: new Set(),
    writes: new Set(),
    functions: new Set(),
    settingChanges: [],
    resetsAll: false,
    whereless: false,
    copyProgram: false,
    copyFile: false,
  };

  private top: ParseObject | undefined;

  /** Collects from a top-level statement; `objects` says whether it is DDL/DCL, whose named relations are written. */
  collect(type: string, body: ParseObject, objects: boolean): StatementFacts {
    this.top = body;
    this.node(type, body, { ctes: NO_CTES, objects });
    return this.facts;
  }

  private unclassified(reason: string): void {
    this.facts.unclassified ??= reason;
  }

  private visit(v: unknown, scope: Scope): void {
    if (Array.isArray(v)) {
      for (const item of v) this.visit(item, scope);
      return;
    }
    if (!isObject(v)) return;
    const wrapped = unwrap(v);
    if (wrapped) {
      this.node(wrapped[0], wrapped[1], scope);
      return;
    }
    // Bare nodes sit in fields of a fixed type: recognise the two that matter by their fields.
    if (typeof v.relname === 'string') this.relation(v, scope.objects ? 'write' : 'read', scope);
    else if (Array.isArray(v.funcname) && 'funcformat' in v) this.funcCall(v, scope);
    else this.fields(v, scope);
  }

  private node(type: string, body: ParseObject, scope: Scope): void {
    const query = { ctes: scope.ctes, objects: false };
    switch (type) {
      case 'RangeVar':
        return this.relation(body, scope.objects ? 'write' : 'read', scope);
      case 'FuncCall':
        return this.funcCall(body, scope);
      case 'SelectStmt': {
        const settingName = pgSettingsRow(body);
        return this.fields(body, settingName === undefined ? query : { ...query, settingName });
      }
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        return this.dml(type, body, query);
      case 'CopyStmt':
        return this.copy(body, query);
      case 'CreateTableAsStmt':
        if (isObject(body.into)) this.into(body.into);
        return this.fields(body, query, 'into');
      case 'DropStmt':
        return this.dropObjects(body);
      case 'TruncateStmt':
        // TRUNCATE empties the table, exactly as a DELETE without WHERE does.
        this.facts.whereless = true;
        return this.fields(body, { ctes: scope.ctes, objects: true });
      case 'VariableSetStmt': {
        // Only a top-level SET changes this session; inside ALTER ROLE/DATABASE/SYSTEM or CREATE FUNCTION it is
        // part of a DDL statement, decided as such.
        if (body !== this.top) return;
        const effect = setStatementEffect(body);
        this.facts.settingChanges.push(...effect.changes);
        if (effect.resetsAll) this.facts.resetsAll = true;
        if (effect.unclassified) this.unclassified(effect.unclassified);
        return;
      }
      case 'TransactionStmt':
        this.facts.settingChanges.push(...transactionModes(body.options, ''));
        return;
      case 'DiscardStmt':
        // DISCARD ALL includes RESET ALL.
        if (body.target === 'DISCARD_ALL') this.facts.resetsAll = true;
        return;
      case 'CallStmt':
        return this.visit(body.funccall, scope);
      case 'LockStmt':
      case 'VacuumStmt':
      case 'ClusterStmt':
      case 'ReindexStmt':
        // They touch relations without changing rows: reads, so that rules on relations see them.
        return this.fields(body, query);
      default:
        return this.fields(body, scope);
    }
  }

  /** Visits every field; a WITH clause first, since the names it defines hide relations in the rest. */
  private fields(obj: ParseObject, scope: Scope, ...skip: string[]): void {
    let inner = scope;
    if (isObject(obj.withClause)) inner = this.withClause(obj.withClause, scope);
    for (const key in obj) {
      if (key === 'withClause' || skip.includes(key)) continue;
      const v = obj[key];
      if (key === 'intoClause' && isObject(v)) this.into(v);
      else this.visit(v, inner);
    }
  }

  /**
   * CTE names are scoped: WITH defines them for its own statement only, and a non-recursive CTE sees only the
   * CTEs before it — `WITH secrets AS (SELECT * FROM secrets)` reads the real table. A global list of CTE names
   * would let a CTE elsewhere in the text hide a real relation from the policy.
   */
  private withClause(wc: ParseObject, scope: Scope): Scope {
    const ctes: ParseObject[] = [];
    if (Array.isArray(wc.ctes)) {
      for (const c of wc.ctes) {
        const w = isObject(c) ? unwrap(c) : undefined;
        if (w && w[0] === 'CommonTableExpr') ctes.push(w[1]);
      }
    }
    const names = new Set(scope.ctes);
    if (wc.recursive) for (const c of ctes) if (typeof c.ctename === 'string') names.add(c.ctename);
    for (const c of ctes) {
      this.fields(c, { ctes: new Set(names), objects: false }, 'ctename');
      if (typeof c.ctename === 'string') names.add(c.ctename);
    }
    return { ctes: names, objects: false };
  }

  private relation(rv: ParseObject, mode: 'read' | 'write', scope: Scope): void {
    const relname = rv.relname as string;
    const schema = typeof rv.schemaname === 'string' && rv.schemaname ? rv.schemaname : undefined;
    // A write target is always a real relation, even when a CTE has the same name.
    if (mode === 'read' && !schema && scope.ctes.has(relname)) return;
    const name = qualifyRelation(schema, relname, rv.relpersistence === 't');
    (mode === 'write' ? this.facts.writes : this.facts.reads).add(name);
  }

  private into(into: ParseObject): void {
    if (isObject(into.rel)) this.relation(into.rel, 'write', { ctes: NO_CTES, objects: false });
  }

  private funcCall(fc: ParseObject, scope: Scope): void {
    const parts = nameParts(fc.funcname).map((p) => p.toLowerCase());
    this.facts.functions.add(parts.join('.'));
    if (parts[parts.length - 1] === 'set_config') {
      const effect = setConfigEffect(fc.args, scope.settingName);
      if ('unclassified' in effect) this.unclassified(effect.unclassified);
      else this.facts.settingChanges.push(effect);
      this.facts.kinds.add('set');
    }
    this.fields(fc, scope, 'funcname');
  }

  private dml(type: string, body: ParseObject, scope: Scope): void {
    this.facts.kinds.add(DML_NODE[type]!);
    let inner = scope;
    if (isObject(body.withClause)) inner = this.withClause(body.withClause, scope);
    if (isObject(body.relation)) this.relation(body.relation, 'write', inner);
    if ((type === 'UpdateStmt' || type === 'DeleteStmt') && !narrowsRows(body.whereClause)) this.facts.whereless = true;
    if (type === 'InsertStmt' && isObject(body.onConflictClause) && body.onConflictClause.action === 'ONCONFLICT_UPDATE') {
      this.facts.kinds.add('update');
    }
    if (type === 'MergeStmt' && Array.isArray(body.mergeWhenClauses)) {
      for (const c of body.mergeWhenClauses) {
        const w = isObject(c) ? unwrap(c) : undefined;
        const action = w ? MERGE_ACTION[w[1].commandType as string] : undefined;
        if (action) this.facts.kinds.add(action);
      }
    }
    this.fields(body, inner, 'relation', 'withClause');
  }

  private copy(body: ParseObject, scope: Scope): void {
    if (body.is_program) this.facts.copyProgram = true;
    else if (typeof body.filename === 'string') this.facts.copyFile = true;
    if (isObject(body.relation)) this.relation(body.relation, body.is_from ? 'write' : 'read', scope);
    this.fields(body, scope, 'relation');
  }

  /** DROP TABLE/VIEW/... names its objects as lists of strings, not as relations. */
  private dropObjects(body: ParseObject): void {
    if (!RELATION_OBJECTS.has(body.removeType as string) || !Array.isArray(body.objects)) return;
    for (const o of body.objects) {
      const w = isObject(o) ? unwrap(o) : undefined;
      if (!w || w[0] !== 'List') continue;
      const parts = nameParts(w[1].items);
      const relname = parts[parts.length - 1];
      if (relname) this.facts.writes.add(qualifyRelation(parts.length > 1 ? parts[parts.length - 2] : undefined, relname));
    }
  }
}

/**
 * Whether a WHERE clause can narrow the rows: it mentions a column (or is WHERE CURRENT OF). `WHERE true` or
 * `WHERE 1 = 1` mention none and touch every row, as no WHERE at all does.
 */
function narrowsRows(where: unknown): boolean {
  if (Array.isArray(where)) return where.some(narrowsRows);
  if (!isObject(where)) return false;
  for (const key in where) {
    if (key === 'ColumnRef' || key === 'CurrentOfExpr') return true;
    if (narrowsRows(where[key])) return true;
  }
  return false;
}

/**
 * `SELECT set_config(name, ...) FROM pg_settings WHERE name = 'x'` (pg_dump sets restrict_nonsystem_relation_kind
 * so): the select reads pg_settings alone and keeps only the row of setting 'x', so its column `name` is 'x'.
 */
function pgSettingsRow(select: ParseObject): string | undefined {
  const from = Array.isArray(select.fromClause) ? select.fromClause : [];
  const rv = from.length === 1 ? unwrap(from[0]) : undefined;
  if (!rv || rv[0] !== 'RangeVar' || rv[1].relname !== 'pg_settings' || !(rv[1].schemaname === undefined || rv[1].schemaname === 'pg_catalog')) return undefined;
  return settingEquality(select.whereClause);
}

function settingEquality(where: unknown): string | undefined {
  const w = unwrap(where);
  if (!w) return undefined;
  const [type, b] = w;
  if (type === 'BoolExpr' && b.boolop === 'AND_EXPR' && Array.isArray(b.args)) {
    for (const a of b.args) {
      const found = settingEquality(a);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (type !== 'A_Expr' || b.kind !== 'AEXPR_OP' || nameParts(b.name).join('.') !== '=') return undefined;
  const isName = isSettingsNameColumn;
  const literal = (n: unknown) => (unwrap(n)?.[0] === 'A_Const' ? constantText(n) : undefined);
  const value = isName(b.lexpr) ? literal(b.rexpr) : isName(b.rexpr) ? literal(b.lexpr) : undefined;
  return typeof value === 'string' ? value.toLowerCase() : undefined;
}
