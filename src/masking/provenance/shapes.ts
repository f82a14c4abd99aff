// What the analysis knows about the columns of a query result and of a relation in a FROM clause. A base
// table is known by name only (the catalog is not at hand): a column is masked if the policy names it. A
// subquery, CTE, view or VALUES list is known by its output columns. A relation the analysis cannot see
// into is opaque: every column of it may carry masked data.
import type { Strategy } from '../strategies.js';
import { CLEAN, indirect, originTaint, sameTaint, union, unknownTaint, type Taint } from './taint.js';

/** One output column: its name and what it may carry. */
export interface OutCol {
  readonly name: string;
  /** false when the name is a guess at PostgreSQL's FigureColname */
  readonly exact: boolean;
  readonly taint: Taint;
}

/** A `*` whose columns are not known (a base table without its column list): positions after it are unknown. */
export type ShapeItem = { readonly col: OutCol; readonly star?: undefined } | { readonly star: RelationShape; readonly col?: undefined };

export interface QueryShape {
  readonly items: readonly ShapeItem[];
}

/** A statement that yields no rows (DML without RETURNING). */
export const EMPTY_SHAPE: QueryShape = Object.freeze({ items: Object.freeze([]) });

export interface RelationShape {
  /** the name a qualified reference uses (alias, or the relation's own name) */
  readonly alias: string | undefined;
  /** the taint of column `name`; CLEAN when the relation has no such column (or it carries nothing masked) */
  lookup(name: string): Taint;
  /** the taint of the whole row (SELECT c FROM customers c, row_to_json(c)) */
  whole(): Taint;
  /** the columns in order, when known */
  columns(): readonly OutCol[] | undefined;
}

export class TableShape implements RelationShape {
  constructor(
    readonly alias: string | undefined,
    readonly relation: string,
    private readonly masked: ReadonlyMap<string, Strategy> | undefined,
    private readonly order?: readonly string[],
  ) {}

  lookup(name: string): Taint {
    return this.masked?.has(name) ? originTaint(`${this.relation}.${name}`) : CLEAN;
  }

  whole(): Taint {
    let t = CLEAN;
    if (this.masked) for (const name of this.masked.keys()) t = union(t, originTaint(`${this.relation}.${name}`));
    return indirect(t);
  }

  columns(): readonly OutCol[] | undefined {
    return this.order?.map((name) => ({ name, exact: true, taint: this.lookup(name) }));
  }
}

export class OpaqueShape implements RelationShape {
  private readonly taint: Taint;
  constructor(
    readonly alias: string | undefined,
    why: string,
  ) {
    this.taint = unknownTaint(why);
  }
  lookup(): Taint {
    return this.taint;
  }
  whole(): Taint {
    return this.taint;
  }
  columns(): undefined {
    return undefined;
  }
}

/** Every column carries the same taint (a set-returning function over some arguments). */
export class UniformShape implements RelationShape {
  constructor(
    readonly alias: string | undefined,
    private readonly taint: Taint,
    private readonly names?: readonly string[],
  ) {}
  lookup(): Taint {
    return this.taint;
  }
  whole(): Taint {
    return indirect(this.taint);
  }
  columns(): readonly OutCol[] | undefined {
    return this.names?.map((name) => ({ name, exact: true, taint: this.taint }));
  }
}

/** A subquery, CTE, VALUES list or view: the columns of a query result, renamed by an alias list if any. */
export class DerivedShape implements RelationShape {
  private readonly items: readonly ShapeItem[];

  constructor(
    readonly alias: string | undefined,
    shape: QueryShape,
    aliasNames: readonly string[] = [],
  ) {
    this.items = aliasNames.length ? renamed(shape.items, aliasNames) : shape.items;
  }

  lookup(name: string): Taint {
    let found = CLEAN;
    let hit = false;
    let guessed = CLEAN;
    for (const item of this.items) {
      if (item.col) {
        if (item.col.name === name) {
          found = union(found, item.col.taint);
          hit = true;
        } else if (!item.col.exact) guessed = union(guessed, item.col.taint);
      } else found = union(found, item.star.lookup(name));
    }
    return hit ? found : union(found, guessed);
  }

  whole(): Taint {
    return indirect(wholeOf(this.items));
  }

  columns(): readonly OutCol[] | undefined {
    return expand(this.items);
  }
}

/** Several relations under one name (a JOIN with an alias, a view with masks of its own on top of its query). */
export class CombinedShape implements RelationShape {
  constructor(
    readonly alias: string | undefined,
    private readonly parts: readonly RelationShape[],
    private readonly positional?: RelationShape,
  ) {}
  lookup(name: string): Taint {
    let t = CLEAN;
    for (const p of this.parts) t = union(t, p.lookup(name));
    return t;
  }
  whole(): Taint {
    let t = CLEAN;
    for (const p of this.parts) t = union(t, p.whole());
    return indirect(t);
  }
  columns(): readonly OutCol[] | undefined {
    return this.positional?.columns()?.map((c) => ({ ...c, taint: this.lookup(c.name) }));
  }
}

/** The columns in order, expanding every star whose relation's columns are known; undefined if one is not. */
export function expand(items: readonly ShapeItem[]): OutCol[] | undefined {
  const out: OutCol[] = [];
  for (const item of items) {
    if (item.col) out.push(item.col);
    else {
      const cols = item.star.columns();
      if (!cols) return undefined;
      out.push(...cols);
    }
  }
  return out;
}

export function wholeOf(items: readonly ShapeItem[]): Taint {
  let t = CLEAN;
  for (const item of items) t = union(t, item.col ? item.col.taint : item.star.whole());
  return t;
}

/** The first aliasNames.length columns take those names; a star in the way makes the names unplaceable. */
function renamed(items: readonly ShapeItem[], aliasNames: readonly string[]): ShapeItem[] {
  const expanded = expand(items);
  if (expanded) {
    return expanded.map((col, i) => (i < aliasNames.length ? { col: { name: aliasNames[i]!, exact: true, taint: col.taint } } : { col }));
  }
  // Where the names land is unknown: each alias may name any column, so each carries the whole row's taint.
  const whole = wholeOf(items);
  return [...aliasNames.map((name) => ({ col: { name, exact: true, taint: indirect(whole) } })), ...items];
}

/** Stands for a relation whose columns are known but cannot be placed (after a JOIN USING merged some). */
export class UnlistedShape implements RelationShape {
  constructor(private readonly inner: RelationShape) {}
  get alias(): string | undefined {
    return this.inner.alias;
  }
  lookup(name: string): Taint {
    return this.inner.lookup(name);
  }
  whole(): Taint {
    return this.inner.whole();
  }
  columns(): undefined {
    return undefined;
  }
}

/** UNION / INTERSECT / EXCEPT: column i carries what column i of either branch carries; names come from the left. */
export function setOperation(left: QueryShape, right: QueryShape): QueryShape {
  const l = expand(left.items);
  const r = expand(right.items);
  if (l && r && l.length === r.length) {
    return { items: l.map((c, i) => ({ col: { name: c.name, exact: c.exact, taint: union(c.taint, r[i]!.taint) } })) };
  }
  return uniform(left, union(wholeOf(left.items), wholeOf(right.items)));
}

/** The same columns, each carrying `taint` (when positions cannot be matched). */
export function uniform(shape: QueryShape, taint: Taint): QueryShape {
  return {
    items: shape.items.map((item): ShapeItem => (item.col ? { col: { ...item.col, taint } } : { star: new UniformShape(item.star.alias, taint) })),
  };
}

export function sameShape(a: QueryShape, b: QueryShape): boolean {
  const ea = expand(a.items);
  const eb = expand(b.items);
  if (ea && eb) return ea.length === eb.length && ea.every((c: OutCol, i) => sameTaint(c.taint, eb[i]!.taint));
  return sameTaint(wholeOf(a.items), wholeOf(b.items));
}
