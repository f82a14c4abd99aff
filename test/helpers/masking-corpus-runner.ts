// Runs leak-corpus entries the way the gateway will: analyse each statement (resolving views and table columns
// through the real catalog), refuse what masking cannot make safe, run the rest on a real PostgreSQL, and
// rewrite every DataRow and CopyData the server sends with the plans built from its RowDescription and
// CopyOutResponse. The raw bytes are tapped off node-postgres's socket, so nothing about the protocol is mocked.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import YAML from 'yaml';
import { MessageFramer, readRowDescription } from '../../src/pgwire/index.js';
import { analyze, type AnalyzedStatement, type Rule } from '../../src/policy/index.js';
import {
  CopyOutRewriter, analyzeMaskedFlow, buildColumnPlan, buildCopyPlan, compileRowPlan, maskingDenial, rewriteDataRow,
  type MaskFlow, type MaskingBlockInput, type MaskingError, type MaskingPolicy, type ResultColumn,
} from '../../src/masking/index.js';

// What the corpus needs to read and write, allowed for the demo agent so that what refuses a leaking statement is
// masking itself, not a missing grant. The shipped agent-safe rules still come first (as in production): they
// refuse DDL, DO blocks and pg_notify before masking is asked.
export const LEAK_FIXTURES_RULE: Rule = {
  name: 'leak-fixtures',
  action: 'allow',
  match: {
    kinds: ['select', 'copy-out', 'cursor', 'explain', 'insert', 'update', 'delete', 'execute', 'deallocate', 'transaction', 'set', 'empty'],
    reads: ['public.leak_*', 'pg_catalog.*'],
    writes: ['public.leak_*'],
  },
};

export interface CorpusEntry {
  sql: string;
  expect: 'masked' | 'refused';
  params?: (string | number)[];
  binary?: boolean;
  why?: string;
}

export interface Corpus {
  setup: string;
  masking: MaskingBlockInput;
  tokens: string[];
  queries: CorpusEntry[];
}

export function loadCorpus(): Corpus {
  return YAML.parse(readFileSync(new URL('../fixtures/leak-corpus.yaml', import.meta.url), 'utf8')) as Corpus;
}

export interface RawMessage {
  type: string;
  raw: Buffer;
}

/** A node-postgres client whose backend bytes are also framed into messages for the test to read. */
export class TappedClient {
  readonly client: pg.Client;
  private messages: RawMessage[] = [];
  private readonly framer = new MessageFramer();

  constructor(connectionString: string) {
    this.client = new pg.Client({ connectionString });
  }

  async connect(): Promise<void> {
    await this.client.connect();
    const stream = (this.client as unknown as { connection: { stream: NodeJS.EventEmitter } }).connection.stream;
    stream.on('data', (chunk: Buffer) => {
      this.framer.feed(chunk, (type, buf, off, len) => this.messages.push({ type: String.fromCharCode(type), raw: Buffer.from(buf.subarray(off, off + len)) }));
    });
  }

  /** Runs a query (simple, or extended when params/binary are given) and returns every message it answered with. */
  async run(sql: string, params?: unknown[], binary = false): Promise<RawMessage[]> {
    this.messages = [];
    if (params || binary) await this.client.query({ text: sql, values: params ?? [], binary } as pg.QueryConfig);
    else await this.client.query(sql);
    const out = this.messages;
    this.messages = [];
    return out;
  }

  end(): Promise<void> {
    return this.client.end();
  }
}

/** The catalog lookups the gateway makes: views, table column order, RowDescription origins. */
export class Catalog {
  private readonly kinds = new Map<string, { kind: string; def?: AnalyzedStatement; columns?: string[]; types?: number[] }>();

  constructor(private readonly client: pg.Client) {}

  private async relation(name: string) {
    let entry = this.kinds.get(name);
    if (entry) return entry;
    const r = await this.client.query(
      `SELECT c.relkind::text AS kind, CASE WHEN c.relkind IN ('v','m') THEN pg_get_viewdef(c.oid) END AS def,
              array(SELECT attname::text FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS columns,
              array(SELECT atttypid::int FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS types
         FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [name],
    );
    const row = r.rows[0] as { kind: string; def: string | null; columns: string[]; types: number[] } | undefined;
    entry = { kind: row?.kind ?? '' };
    if (row?.def) entry.def = analyze(row.def).statements[0];
    if (row && (row.kind === 'r' || row.kind === 'p')) {
      entry.columns = row.columns;
      entry.types = row.types;
    }
    this.kinds.set(name, entry);
    return entry;
  }

  /** The flow of a statement with every view it reads resolved (views of views too). */
  async flow(stmt: AnalyzedStatement, policy: MaskingPolicy, prepared: Map<string, MaskFlow>, cursors: Map<string, MaskFlow>): Promise<MaskFlow> {
    const views = new Map<string, AnalyzedStatement>();
    const tableColumns = new Map<string, readonly string[]>();
    for (let round = 0; round < 10; round++) {
      const flow = analyzeMaskedFlow(stmt, policy, { views, tableColumns, prepared, cursors });
      let added = false;
      for (const rel of flow.relations) {
        if (views.has(rel) || tableColumns.has(rel)) continue;
        const e = await this.relation(rel);
        if (e.def) {
          views.set(rel, e.def);
          added = true;
        } else if (e.columns) {
          tableColumns.set(rel, e.columns);
          added = true;
        }
      }
      if (!added) return flow;
    }
    throw new Error('views nested more than 10 deep');
  }

  async tableTypes(name: string, attlist?: string[]): Promise<number[] | undefined> {
    const e = await this.relation(name);
    if (!e.columns || !e.types) return undefined;
    if (!attlist) return e.types;
    return attlist.map((a) => e.types![e.columns!.indexOf(a)]!);
  }

  async source(tableOid: number, attnum: number): Promise<ResultColumn['source']> {
    if (tableOid === 0) return undefined;
    const r = await this.client.query(
      `SELECT n.nspname::text AS schema, c.relname::text AS rel, c.relkind::text AS kind, a.attname::text AS col
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = $2 WHERE c.oid = $1`,
      [tableOid, attnum],
    );
    const row = r.rows[0] as { schema: string; rel: string; kind: string; col: string } | undefined;
    if (!row) return null;
    return { relation: `${row.schema}.${row.rel}`, column: row.col, view: row.kind === 'v' || row.kind === 'm' };
  }
}

export interface Outcome {
  refused?: MaskingError;
  /** every DataRow and CopyData as the server sent them */
  raw: Buffer[];
  /** the same after masking */
  masked: Buffer[];
  /** result columns (or COPY fields) whose plan masks or nulls them */
  maskedColumns: number;
  flows: MaskFlow[];
}

/** One corpus entry, end to end; unless it manages its own transaction it runs in one that is rolled back, so writes change nothing. */
export async function runEntry(entry: CorpusEntry, policy: MaskingPolicy, tapped: TappedClient, catalog: Catalog): Promise<Outcome> {
  const analysis = analyze(entry.sql);
  if (analysis.error) throw new Error(`the corpus entry does not parse: ${analysis.error}`);
  const prepared = new Map<string, MaskFlow>();
  const cursors = new Map<string, MaskFlow>();
  const flows: MaskFlow[] = [];
  for (const stmt of analysis.statements) {
    const flow = await catalog.flow(stmt, policy, prepared, cursors);
    flows.push(flow);
    if (flow.prepared !== undefined) prepared.set(flow.prepared, flow);
    if (flow.cursor !== undefined) cursors.set(flow.cursor, flow);
  }
  const out: Outcome = { raw: [], masked: [], maskedColumns: 0, flows };
  for (const f of flows) {
    const denial = maskingDenial(f, policy);
    if (denial) return { ...out, refused: denial };
  }
  const ownTransaction = /^\s*begin\b/i.test(entry.sql);
  if (!ownTransaction) await tapped.client.query('BEGIN');
  try {
    const messages = await tapped.run(entry.sql, entry.params, entry.binary === true);
    await rewriteResults(messages, analysis.statements, flows, policy, catalog, out);
  } finally {
    if (!ownTransaction) await tapped.client.query('ROLLBACK');
  }
  return out;
}

async function rewriteResults(
  messages: RawMessage[],
  statements: readonly AnalyzedStatement[],
  flows: MaskFlow[],
  policy: MaskingPolicy,
  catalog: Catalog,
  out: Outcome,
): Promise<void> {
  let index = 0;
  let rowPlan: ReturnType<typeof compileRowPlan> | undefined;
  let copy: CopyOutRewriter | undefined;
  for (const m of messages) {
    const flow = flows[Math.min(index, flows.length - 1)];
    switch (m.type) {
      case 'T': {
        const fields = readRowDescription(m.raw, 0, m.raw.length);
        const columns: ResultColumn[] = [];
        for (const f of fields) {
          columns.push({ name: f.name, typeOid: f.typeOid, format: f.format, source: await catalog.source(f.tableOid, f.columnAttr) });
        }
        const planned = buildColumnPlan(columns, flow, policy);
        if ('refusal' in planned) {
          out.refused = planned.refusal;
          return;
        }
        out.maskedColumns += planned.plan.filter((p) => p.action === 'mask' || p.action === 'null').length;
        rowPlan = compileRowPlan(planned.plan, fields.map((f) => f.format), fields.map((f) => f.typeOid), policy);
        break;
      }
      case 'D': {
        if (!rowPlan) throw new Error('DataRow without RowDescription');
        out.raw.push(m.raw);
        out.masked.push(rewriteDataRow(m.raw, 0, m.raw.length, rowPlan) ?? m.raw);
        break;
      }
      case 'H': {
        const count = m.raw.readUInt16BE(6);
        const copyFlow = flow?.copy;
        if (!copyFlow) throw new Error('COPY without a copy flow');
        const typeOids = await copyTypes(statements[index], catalog, copyFlow.options.format === 'binary');
        const planned = buildCopyPlan(copyFlow, count, policy, typeOids);
        if ('refusal' in planned) {
          out.refused = planned.refusal;
          return;
        }
        out.maskedColumns += planned.plan.filter((p) => p.action === 'mask' || p.action === 'null').length;
        copy = new CopyOutRewriter(copyFlow.options, planned.plan, policy, typeOids);
        break;
      }
      case 'd': {
        if (!copy) throw new Error('CopyData without CopyOutResponse');
        out.raw.push(m.raw);
        out.masked.push(copy.rewriteMessage(m.raw, 0, m.raw.length) ?? m.raw);
        break;
      }
      case 'C':
      case 'I':
      case 'E':
        index++;
        rowPlan = undefined;
        copy = undefined;
        break;
      default:
        break;
    }
  }
}

/** Column types of COPY table TO STDOUT (binary), as the gateway would read them from the catalog. */
async function copyTypes(stmt: AnalyzedStatement | undefined, catalog: Catalog, binary: boolean): Promise<number[] | undefined> {
  if (!binary || !stmt) return undefined;
  const copy = (stmt.node as { CopyStmt?: { relation?: { relname?: string; schemaname?: string }; attlist?: { String: { sval: string } }[] } }).CopyStmt;
  if (!copy?.relation?.relname) return undefined;
  const name = `${copy.relation.schemaname ?? 'public'}.${copy.relation.relname}`;
  return catalog.tableTypes(name, copy.attlist?.map((a) => a.String.sval));
}

/** Every form a token could take in the bytes: as is, in any case, reversed, hex-encoded. */
export function tokenForms(tokens: readonly string[]): RegExp {
  const forms: string[] = [];
  for (const t of tokens) {
    forms.push(t, [...t].reverse().join(''), Buffer.from(t).toString('hex'), Buffer.from(t.toLowerCase()).toString('hex'));
  }
  return new RegExp(forms.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i');
}
