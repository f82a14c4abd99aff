import { StoreError, type AuditQuery, type AuditRecord, type Store } from '../store/index.js';
import { buildEvent } from './build-event.js';
import { GENESIS_HASH } from './chain.js';
import { AuditError } from './errors.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import { GroupCommit, type DurableCallback } from './group-commit.js';
import { parseStoredEvent } from './stored-event.js';
import { verifyChain, type VerifyResult } from './verify.js';
import { AuditJournal } from './journal.js';

export interface AuditLogOptions {
  /** Write-ahead journal file. With it, an event is durable once appended there and the store is filled in
   *  the background (at most INGEST_DELAY_MS later; search and verify wait for it). Without it, every group
   *  commit is a store transaction on the caller's path. */
  journal?: string;
  /** where journalled events are ingested (a writer off the caller's thread); default the store itself */
  sink?: Pick<Store, 'appendAudit'>;
}

/** How long journalled events may wait before they go into the store in one transaction. */
const INGEST_DELAY_MS = 50;
/** The journal is emptied once the store holds all of it and it has grown past this (or on flush and
 *  close): truncating after every ingest made the file system free and allocate the same blocks 20 times a
 *  second. A journal with stored events in it is fine: opening skips what the store already holds. */
const JOURNAL_KEEP_BYTES = 8 * 1024 * 1024;

/**
 * The audit log: builds chained events and writes them with group commit. One AuditLog per store
 * (the chain head lives here); several writers on one store would fork the chain.
 */
export class AuditLog {
  readonly #store: Store;
  /** hash of the last event built (maybe not yet stored): the next event's prevHash */
  #head: string;
  /** hash of the last event the store has confirmed */
  #storedHead: string;
  readonly #commit: GroupCommit<AuditRecord>;
  readonly #journal: AuditJournal | undefined;
  /** journalled records the store does not hold yet */
  #unstored: AuditRecord[] = [];
  #ingestTimer: NodeJS.Timeout | undefined;
  #ingesting: Promise<void> | undefined;
  readonly #sink: Pick<Store, 'appendAudit'>;

  private constructor(store: Store, head: string, journal?: AuditJournal, unstored: AuditRecord[] = [], sink?: Pick<Store, 'appendAudit'>) {
    this.#store = store;
    this.#sink = sink ?? store;
    this.#head = head;
    this.#storedHead = head;
    this.#journal = journal;
    this.#unstored = unstored;
    this.#commit = new GroupCommit<AuditRecord>(
      async (batch) => {
        try {
          if (this.#journal) {
            this.#journal.append(batch);
            for (const r of batch) this.#unstored.push(r);
            this.#scheduleIngest();
          } else {
            await this.#store.appendAudit(batch);
          }
        } catch (err) {
          throw writeFailed(err);
        }
      },
      (batch, err) => {
        // On failure every unstored event is dropped (GroupCommit fails them all), so the chain
        // continues from what the store holds.
        if (err !== undefined) this.#head = this.#storedHead;
        else this.#storedHead = (batch.at(-1) as AuditRecord).hash;
      },
    );
  }

  /** Loads the chain head from the store, and with a journal, takes into the store what a crash left there. */
  static async open(store: Store, opts: AuditLogOptions = {}): Promise<AuditLog> {
    const stored = (await store.lastAuditHash()) ?? GENESIS_HASH;
    if (!opts.journal) return new AuditLog(store, stored);
    const journal = AuditJournal.open(opts.journal);
    const journalled = journal.pending();
    // The journal holds the store's last events (not cleared yet) and/or the ones after it.
    const at = journalled.findIndex((r) => r.hash === stored);
    const rest = at >= 0 ? journalled.slice(at + 1) : journalled;
    if (rest.length > 0 && rest[0]!.prevHash !== stored) {
      journal.close();
      throw new AuditError('AGENTDB_ERR_AUDIT_CORRUPT', `the audit journal ${opts.journal} does not continue the stored chain; keep both files and run agentdb audit verify`);
    }
    const log = new AuditLog(store, rest.at(-1)?.hash ?? stored, journal, rest, opts.sink);
    // Emptied now, so that a line a crash tore in half is not followed by new ones.
    await log.#ingestNow(true);
    return log;
  }

  #scheduleIngest(): void {
    if (this.#ingestTimer || this.#ingesting) return;
    this.#ingestTimer = setTimeout(() => {
      this.#ingestTimer = undefined;
      void this.#ingestNow().catch(() => undefined);
    }, INGEST_DELAY_MS);
    this.#ingestTimer.unref();
  }

  /** Moves journalled records into the store in one transaction; empties the journal when the store holds all of it and it is large, or `empty` asks. */
  #ingestNow(empty = false): Promise<void> {
    if (this.#ingesting) return this.#ingesting.then(() => this.#ingestNow(empty));
    clearTimeout(this.#ingestTimer);
    this.#ingestTimer = undefined;
    if (this.#unstored.length === 0) {
      if (empty && this.#journal && this.#journal.size > 0 && this.#commit.idle) this.#journal.clear();
      return Promise.resolve();
    }
    const batch = this.#unstored;
    this.#unstored = [];
    this.#ingesting = this.#sink.appendAudit(batch).then(
      () => {
        this.#ingesting = undefined;
        if (this.#unstored.length > 0) this.#scheduleIngest();
        else if (this.#journal && (empty || this.#journal.size > JOURNAL_KEEP_BYTES) && this.#commit.idle) this.#journal.clear();
      },
      (err: unknown) => {
        // The records stay journalled (durable); they are tried again later.
        this.#ingesting = undefined;
        this.#unstored = batch.concat(this.#unstored);
        this.#scheduleIngest();
        throw writeFailed(err);
      },
    );
    return this.#ingesting;
  }

  /**
   * Builds the events now (id, time, code, chain) and queues them. Everything submitted during one
   * event-loop turn is written in ONE store.appendAudit call; then each submitter's onDurable runs,
   * in submit order. On a failed write onDurable gets an AuditError (AGENTDB_ERR_AUDIT_WRITE_FAILED):
   * the caller must then refuse to go on (fail closed). A malformed event throws here, and none of
   * `events` is queued.
   */
  submit(events: AuditEventInput[], onDurable: DurableCallback): AuditEvent[] {
    if (!Array.isArray(events)) {
      throw new AuditError('AGENTDB_ERR_AUDIT_BAD_EVENT', 'bad audit event: submit takes an array of events');
    }
    if (typeof onDurable !== 'function') {
      throw new AuditError('AGENTDB_ERR_AUDIT_BAD_EVENT', 'bad audit event: submit needs an onDurable callback');
    }
    const built: AuditEvent[] = [];
    const records: AuditRecord[] = [];
    let head = this.#head;
    for (const input of events) {
      const { event, record } = buildEvent(input, head);
      built.push(event);
      records.push(record);
      head = event.hash;
    }
    this.#head = head;
    this.#commit.add(records, onDurable);
    return built;
  }

  /** Submits and waits until the events are stored. */
  write(events: AuditEventInput[]): Promise<AuditEvent[]> {
    return new Promise((resolve, reject) => {
      const built = this.submit(events, (err) => (err === undefined ? resolve(built) : reject(err)));
    });
  }

  /** Resolves once everything submitted before it is in the store; rejects if that write failed. */
  async flush(): Promise<void> {
    if (!this.#commit.idle) {
      await new Promise<void>((resolve, reject) => {
        this.#commit.add([], (err) => (err === undefined ? resolve() : reject(err)));
      });
    }
    await this.#ingestNow(true);
  }

  /** Flushes and closes the journal. */
  async close(): Promise<void> {
    await this.flush();
    this.#journal?.close();
  }

  async search(q: AuditQuery): Promise<AuditEvent[]> {
    await this.flush();
    let records: AuditRecord[];
    try {
      records = await this.#store.searchAudit(q);
    } catch (err) {
      const what = err instanceof StoreError && err.code === 'AGENTDB_ERR_STORE_BAD_QUERY' ? 'AGENTDB_ERR_AUDIT_BAD_QUERY' : 'AGENTDB_ERR_AUDIT_READ_FAILED';
      throw new AuditError(what, (err as Error).message, { cause: err });
    }
    return records.map(parseStoredEvent);
  }

  /** Walks the whole stored chain: an edited, deleted, inserted or reordered event breaks it. */
  async verify(): Promise<VerifyResult> {
    await this.flush();
    try {
      return await verifyChain(this.#store.scanAudit());
    } catch (err) {
      throw new AuditError('AGENTDB_ERR_AUDIT_READ_FAILED', `cannot read the audit log to verify it: ${(err as Error).message}`, { cause: err });
    }
  }
}

function writeFailed(err: unknown): AuditError {
  return new AuditError(
    'AGENTDB_ERR_AUDIT_WRITE_FAILED',
    `the audit log could not be written (${err instanceof Error ? err.message : String(err)}); statements are refused until it can`,
    { cause: err },
  );
}
