// One statement over the extended protocol with a row cap: Parse, Bind, Describe, Execute(max + 1), Sync.
// The cap is PostgreSQL's own (Execute's row limit, PortalSuspended): rows past it are never produced, so they
// neither reach the agent nor spend the task's data budget. The extended protocol also takes exactly one
// statement: a tool's SQL cannot smuggle a second one past the transaction it runs in. Values stay text, as
// the gateway delivered (and masked) them. A pg "submittable", as pg-cursor is.
import type { Connection } from 'pg';

export interface CappedResult {
  columns: string[];
  rows: (string | null)[][];
  /** the command tag's verb (SELECT, UPDATE...) and its row count, when the statement completed */
  command?: string;
  rowCount?: number;
  /** more rows were there than the cap */
  truncated: boolean;
  /** NOTICE and WARNING texts that came with it */
  notices?: string[];
}

interface Field {
  name: string;
}

/** pg's Connection, as far as this file drives it (its typings do not list the extended-protocol calls). */
interface WireConnection {
  parse(q: { text: string; types?: number[] }): void;
  bind(c: { portal?: string; statement?: string; values: (string | null)[] }): void;
  describe(m: { type: 'P' | 'S'; name?: string }): void;
  execute(c: { portal?: string; rows: number }): void;
  sync(): void;
  sendCopyFail(msg: string): void;
}

export class CappedQuery {
  readonly result: Promise<CappedResult>;
  private resolve!: (r: CappedResult) => void;
  private reject!: (e: Error) => void;
  private readonly out: CappedResult = { columns: [], rows: [], truncated: false };

  constructor(
    private readonly text: string,
    private readonly values: (string | null)[],
    private readonly maxRows: number,
  ) {
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: Connection): void {
    const con = connection as unknown as WireConnection;
    con.parse({ text: this.text });
    con.bind({ values: this.values });
    con.describe({ type: 'P' });
    // One more than the cap: a PortalSuspended then means there were more.
    con.execute({ rows: this.maxRows + 1 });
    con.sync();
  }

  handleRowDescription(msg: { fields: Field[] }): void {
    this.out.columns = msg.fields.map((f) => f.name);
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    if (this.out.rows.length < this.maxRows) this.out.rows.push(msg.fields);
    else this.out.truncated = true;
  }

  handlePortalSuspended(): void {
    this.out.truncated = this.out.truncated || this.out.rows.length >= this.maxRows;
  }

  handleCommandComplete(msg: { text?: string; command?: string; rowCount?: number | null }): void {
    const tag = msg.text ?? '';
    const verb = msg.command ?? tag.split(' ')[0];
    if (verb) this.out.command = verb;
    const n = msg.rowCount ?? Number(tag.split(' ').at(-1));
    if (Number.isInteger(n)) this.out.rowCount = n;
  }

  handleEmptyQuery(): void {}

  // pg drops its active query on an ErrorResponse (ReadyForQuery then goes to nobody): the error settles the call.
  handleError(err: Error): void {
    this.reject(err);
  }

  handleReadyForQuery(): void {
    this.resolve(this.out);
  }

  handleCopyInResponse(connection: Connection): void {
    (connection as unknown as WireConnection).sendCopyFail('agentdb mcp sends no COPY data');
  }

  handleCopyData(): void {}
}
