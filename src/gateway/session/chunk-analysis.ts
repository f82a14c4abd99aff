// Analysis, once per text per chunk: every Query and Parse text is analysed (policy analyze: libpg-query) exactly
// once, and that analysis is what the masking flows, the decision and the audit event all use. In a masked
// session the texts of a chunk are analysed first (masking works out their flows before the handlers run) and
// the handlers take those analyses in message order; otherwise a handler analyses its own text.
import { FrontendType, forEachMessage, readParse, readQuery } from '../../pgwire/index.js';
import { analyze, type Analysis, type AnalyzedStatement, type Refusal } from '../../policy/index.js';
import { SqlState } from '../../pgwire/index.js';

// Parsing is synchronous on the event loop; text past this size is refused rather than analysed (a deeply
// nested megabyte expression takes the parser most of a second).
export const MAX_ANALYZED_SQL = 4 * 1024 * 1024;

const NOT_ANALYSED: Analysis = Object.freeze({ statements: Object.freeze([]) as readonly AnalyzedStatement[] });

/** The analysis of a text, or no statements for text too large to analyse. */
export function analyzeText(sql: string): Analysis {
  return sql.length > MAX_ANALYZED_SQL ? NOT_ANALYSED : analyze(sql);
}

/**
 * Text the gateway refuses to analyse: not UTF-8 (`invalid`: its bytes; what would be analysed and audited is
 * not what was sent, and PostgreSQL refuses it too) or too large (fail closed). Text that does not parse is
 * refused by the decision itself (policy decideStatements).
 */
export function textRefusal(sql: string, invalid: Buffer | undefined): Refusal | undefined {
  if (invalid) return { rule: 'encoding', message: 'invalid byte sequence for encoding "UTF8": the statement is not valid UTF-8', sqlState: SqlState.CHARACTER_NOT_IN_REPERTOIRE };
  if (sql.length > MAX_ANALYZED_SQL) return { rule: 'size', message: `statements longer than ${MAX_ANALYZED_SQL} bytes are not analysed, so they are refused` };
  return undefined;
}

/** The analyses of one chunk's Query and Parse texts, by the offset of their message. */
export class ChunkAnalyses {
  private offsets: number[] = [];
  private results: Analysis[] = [];
  private next = 0;

  /** Analyses every Query and Parse text of `chunk` (masked sessions); returns their statements for masking. */
  collect(chunk: Buffer): AnalyzedStatement[] {
    this.clear();
    const found: AnalyzedStatement[] = [];
    forEachMessage(chunk, (type, buf, off, len) => {
      if (type !== FrontendType.Query && type !== FrontendType.Parse) return;
      const a = analyzeText(type === FrontendType.Query ? readQuery(buf, off, len) : readParse(buf, off, len).sql);
      this.offsets.push(off);
      this.results.push(a);
      if (!a.error) found.push(...a.statements);
    });
    return found;
  }

  /** The analysis of the text of the message at `off`: the one collected for it, or worked out now. */
  take(off: number, sql: string): Analysis {
    if (this.next < this.offsets.length && this.offsets[this.next] === off) return this.results[this.next++]!;
    return analyzeText(sql);
  }

  /** The chunk is processed: its analyses are let go. */
  clear(): void {
    if (this.offsets.length === 0) return;
    this.offsets = [];
    this.results = [];
    this.next = 0;
  }
}
