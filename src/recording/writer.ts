import type { RecordingRecord, Store } from '../store/index.js';
import { RecordingError, RecordingErrorCode } from './errors.js';
import { endFault, headerFault, statementFault } from './shape-checks.js';
import { RECORD_KIND, type RecordedStatement, type RecordingEnd, type RecordingHeader } from './types.js';

/** Statements are batched: written at most this long after they happen... */
export const FLUSH_INTERVAL_MS = 200;
/** ...or as soon as this many are waiting. */
export const FLUSH_ENTRIES = 256;

/**
 * Writes one session's recording. The gateway calls statement() on every query, so it only
 * buffers; one unref'd timer per writer (re-armed, never re-created) flushes the buffer. Writes
 * are chained so they land in order. A failed write does not stop the session (the audit log is
 * what gates statements); end() reports it.
 *
 * The statements of one flush are stored as ONE record (kind `statements`, data the array): a store row per
 * statement was a third of the store writer's work under load (an insert into the recordings key each).
 */
export class RecordingWriter {
  readonly #store: Pick<Store, 'appendRecording'>;
  readonly #sid: string;
  #seq = 0;
  #buffer: RecordingRecord[] = [];
  /** statements since the last record was made; they become one `statements` record */
  #statements: RecordedStatement[] = [];
  readonly #timer: NodeJS.Timeout;
  #armed = false;
  #written: Promise<void> = Promise.resolve();
  #failure: unknown;
  #ended = false;

  constructor(store: Pick<Store, 'appendRecording'>, header: RecordingHeader) {
    const fault = headerFault(header);
    if (fault !== undefined) throw new RecordingError(RecordingErrorCode.BAD_INPUT, `cannot record the session: ${fault}`);
    this.#store = store;
    this.#sid = header.sid;
    this.#timer = setTimeout(this.#onTimer, FLUSH_INTERVAL_MS);
    this.#timer.unref();
    this.#armed = true;
    this.#push(RECORD_KIND.start, header);
  }

  /**
   * Buffers one statement (the object itself, not a copy: do not change it afterwards); throws
   * only for malformed input or after end().
   */
  statement(s: RecordedStatement): void {
    if (this.#ended) {
      throw new RecordingError(RecordingErrorCode.ENDED, `the recording of session ${this.#sid} has ended; no more statements can be added`);
    }
    const fault = statementFault(s);
    if (fault !== undefined) throw new RecordingError(RecordingErrorCode.BAD_INPUT, `cannot record a statement of session ${this.#sid}: ${fault}`);
    this.#statements.push(s);
    if (this.#statements.length >= FLUSH_ENTRIES) this.#flush();
    else this.#arm();
  }

  /** Writes the end marker and everything still buffered; rejects if any write of this recording failed. */
  async end(info: RecordingEnd): Promise<void> {
    if (this.#ended) {
      throw new RecordingError(RecordingErrorCode.ENDED, `the recording of session ${this.#sid} has already ended`);
    }
    const fault = endFault(info);
    if (fault !== undefined) throw new RecordingError(RecordingErrorCode.BAD_INPUT, `cannot end the recording of session ${this.#sid}: ${fault}`);
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#push(RECORD_KIND.end, info);
    this.#flush();
    await this.#written;
    if (this.#failure !== undefined) {
      const cause = this.#failure;
      throw new RecordingError(
        RecordingErrorCode.WRITE_FAILED,
        `part of the recording of session ${this.#sid} could not be stored: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
  }

  #push(kind: string, data: unknown): void {
    this.#takeStatements();
    this.#buffer.push({ sid: this.#sid, seq: this.#seq++, time: new Date().toISOString(), kind, data });
    this.#arm();
  }

  /** The statements waiting become one record, in order after what was pushed before them. */
  #takeStatements(): void {
    if (this.#statements.length === 0) return;
    const data = this.#statements;
    this.#statements = [];
    this.#buffer.push({ sid: this.#sid, seq: this.#seq++, time: new Date().toISOString(), kind: RECORD_KIND.statements, data });
  }

  #arm(): void {
    if (this.#armed || this.#ended) return;
    this.#armed = true;
    this.#timer.refresh();
  }

  readonly #onTimer = (): void => {
    this.#armed = false;
    this.#flush();
  };

  #flush(): void {
    this.#takeStatements();
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#written = this.#written
      .then(() => this.#store.appendRecording(batch))
      .catch((err: unknown) => {
        this.#failure ??= err;
      });
  }
}
