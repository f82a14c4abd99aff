import { MAX_AUDIT_LIMIT, StoreError, StoreErrorCode, type AuditQuery, type AuditRecord, type BulkWriter, type Store } from '../store/index.js';
import { buildEvent } from './build-event.js';
import { GENESIS_HASH } from './chain.js';
import { AuditError, AuditErrorCode } from './errors.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import { GroupCommit, type DurableCallback } from './group-commit.js';
import { parseStoredEvent } from './stored-event.js';
import { verifyChain, type VerifyResult } from './verify.js';
import { AuditJournal } from './journal.js';
import { checkpointFault, type Checkpoint, type CheckpointSigner } from './checkpoint.js';

/** The store's key/value entry that holds the newest signed checkpoint of the log. */
export const CHECKPOINT_KV_KEY = 'audit.checkpoint';
export const DEFAULT_CHECKPOINT_EVERY = 1000;

export interface AuditLogOptions {
  /** Write-ahead journal file. With it, an event is durable once appended there and the store is filled in
   *  the background (at most INGEST_DELAY_MS later; search and verify wait for it). Without it, every group
   *  commit is a store transaction on the caller's path. */
  journal?: string;
  /** where journalled events are ingested (a writer off the caller's thread); default the store itself */
  sink?: JournalSink;
  /** Signs the stored head every `every` events (default DEFAULT_CHECKPOINT_EVERY) and on close, so a cut
   *  tail shows (checkpoint.ts). A checkpoint that cannot be written loses no event: `onError` hears of it. */
  checkpoint?: { signer: CheckpointSigner; every?: number; onError?: (err: Error) => void };
}

/**
 * Where journalled events go: a store, or a writer that can also read them from the journal file itself and
 * store the signed checkpoints (after the events they name, and off the relay thread's connection).
 */
export type JournalSink = Pick<Store, 'appendAudit'> & Partial<Pick<BulkWriter, 'ingestJournal' | 'putKv'>>;

/** What verify found out about the newest signed checkpoint. */
export interface CheckpointStatus {
  checkpoint: Checkpoint;
  /** the events the checkpoint covers (its head's place in the chain + 1); undefined when the head is missing */
  events?: number;
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
  /** where the first of #unstored begins in the journal (they run from here to its end)... */
  #unstoredFrom = 0;
  /** ...which is unknown for what a crash left in the journal: those go to the sink as records */
  #rangeKnown: boolean;
  #ingestTimer: NodeJS.Timeout | undefined;
  #ingesting: Promise<void> | undefined;
  readonly #sink: JournalSink;
  readonly #checkpoint: AuditLogOptions['checkpoint'];
  /** events stored since the last checkpoint was signed */
  #sinceCheckpoint = 0;
  #signedHead: string | undefined;
  /** the newest record the store holds (hash and time): what the next checkpoint signs */
  #lastInStore: Pick<AuditRecord, 'hash' | 'time'> | undefined;
  /** set when the store lost events the stored checkpoint covers: nothing is signed over the cut (verify fails) */
  #cut = false;
  /** checkpoint writes, one after the other, so an older one never lands last */
  #checkpointWrites: Promise<void> = Promise.resolve();

  private constructor(store: Store, head: string, journal?: AuditJournal, unstored: AuditRecord[] = [], opts: AuditLogOptions = {}) {
    this.#store = store;
    this.#sink = opts.sink ?? store;
    this.#checkpoint = opts.checkpoint;
    this.#head = head;
    this.#storedHead = head;
    this.#journal = journal;
    this.#unstored = unstored;
    this.#rangeKnown = unstored.length === 0;
    this.#unstoredFrom = journal?.size ?? 0;
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
        else if (batch.length > 0) {
          this.#storedHead = (batch.at(-1) as AuditRecord).hash;
          if (!this.#journal) this.#inStore(batch);
        }
      },
    );
  }

  /** Loads the chain head from the store, and with a journal, takes into the store what a crash left there. */
  static async open(store: Store, opts: AuditLogOptions = {}): Promise<AuditLog> {
    const stored = (await store.lastAuditHash()) ?? GENESIS_HASH;
    const signed = opts.checkpoint ? ((await store.getKv(CHECKPOINT_KV_KEY)) as Checkpoint | undefined) : undefined;
    if (!opts.journal) return new AuditLog(store, stored, undefined, [], opts).#resumeSigning(signed);
    const journal = AuditJournal.open(opts.journal);
    const journalled = journal.pending();
    // The journal holds the store's last events (not cleared yet) and/or the ones after it.
    const at = journalled.findIndex((r) => r.hash === stored);
    const rest = at >= 0 ? journalled.slice(at + 1) : journalled;
    if (rest.length > 0 && rest[0]!.prevHash !== stored) {
      journal.close();
      throw new AuditError(AuditErrorCode.CORRUPT, `the audit journal ${opts.journal} does not continue the stored chain; keep both files and run agentdb audit verify`);
    }
    const log = new AuditLog(store, rest.at(-1)?.hash ?? stored, journal, rest, opts);
    // Emptied now, so that a line a crash tore in half is not followed by new ones.
    await log.#ingestNow(true);
    return log.#resumeSigning(signed);
  }

  /**
   * At open, the store's newest event must be the stored checkpoint's head or come after it. If the head is
   * gone, the tail was cut while the server was down: signing the shorter chain would hide that, so this log
   * signs nothing and verify keeps failing, naming the checkpoint. Otherwise what a crash left unsigned (or a
   * log from before checkpoints) is signed at once.
   */
  async #resumeSigning(signed: Checkpoint | undefined): Promise<this> {
    if (!this.#checkpoint) return this;
    this.#signedHead = signed?.headHash;
    const [newest] = await this.#store.searchAudit({ order: 'desc', limit: 1 });
    if (newest === undefined) {
      this.#cut = signed !== undefined;
      return this;
    }
    this.#lastInStore = newest;
    if (signed !== undefined && newest.hash !== signed.headHash && !(await this.#holds(signed))) {
      this.#cut = true;
      this.#checkpoint.onError?.(new AuditError(AuditErrorCode.CUT, `the audit store no longer holds the head of the checkpoint signed at ${signed.time}: events were cut from its tail; run agentdb audit verify`));
      return this;
    }
    await this.#writeCheckpoint().catch(() => undefined);
    return this;
  }

  /** Whether the store holds the checkpoint's head event, looked up by its time (an indexed column). */
  async #holds(c: Checkpoint): Promise<boolean> {
    if (typeof c.headTime !== 'string') return false;
    const at = new Date(c.headTime);
    if (Number.isNaN(at.getTime())) return false;
    const same = await this.#store.searchAudit({ since: at, until: at, limit: MAX_AUDIT_LIMIT });
    return same.some((r) => r.hash === c.headHash);
  }

  /** Counts records the store now holds, and signs a checkpoint of them every N. */
  #inStore(batch: AuditRecord[]): void {
    if (!this.#checkpoint || batch.length === 0) return;
    this.#lastInStore = batch.at(-1) as AuditRecord;
    this.#sinceCheckpoint += batch.length;
    if (this.#sinceCheckpoint >= (this.#checkpoint.every ?? DEFAULT_CHECKPOINT_EVERY)) {
      void this.#writeCheckpoint().catch(() => undefined);
    }
  }

  /** Signs the newest record the store holds and keeps it as the log's newest checkpoint. */
  #writeCheckpoint(): Promise<void> {
    const cp = this.#checkpoint;
    const head = this.#lastInStore;
    if (!cp || this.#cut || head === undefined || head.hash === this.#signedHead) return this.#checkpointWrites;
    this.#sinceCheckpoint = 0;
    this.#signedHead = head.hash;
    const checkpoint = cp.signer.sign({ kind: 'log', headHash: head.hash, headTime: head.time });
    // After a failed write the next one still runs (the chain goes on from the failure), and signs again.
    const sink = this.#sink;
    const put = sink.putKv ? () => sink.putKv!(CHECKPOINT_KV_KEY, checkpoint) : () => this.#store.putKv(CHECKPOINT_KV_KEY, checkpoint);
    this.#checkpointWrites = this.#checkpointWrites.catch(() => undefined).then(() =>
      put().catch((err: unknown) => {
        if (this.#signedHead === head.hash) this.#signedHead = undefined;
        const e = new AuditError(AuditErrorCode.CHECKPOINT_FAILED, `the audit checkpoint could not be stored: ${(err as Error).message}`, { cause: err });
        cp.onError?.(e);
        throw e;
      }),
    );
    return this.#checkpointWrites;
  }

  /** The public face of the signing key, when the log signs checkpoints. */
  get signingKey(): { keyId: string; publicKeyPem: string } | undefined {
    const s = this.#checkpoint?.signer;
    return s ? { keyId: s.keyId, publicKeyPem: s.publicKeyPem } : undefined;
  }

  /** Empties the journal; only when the store holds every record in it. */
  #clearJournal(): void {
    this.#journal?.clear();
    this.#unstoredFrom = 0;
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
      if (empty && this.#journal && this.#journal.size > 0 && this.#commit.idle) this.#clearJournal();
      return Promise.resolve();
    }
    const batch = this.#unstored;
    this.#unstored = [];
    // Everything unstored is the journal's tail, appended in the same turns as it was queued here.
    const from = this.#unstoredFrom;
    const known = this.#rangeKnown;
    const to = this.#journal?.size ?? 0;
    this.#unstoredFrom = to;
    this.#rangeKnown = true;
    const journal = this.#journal;
    const stored = known && journal && this.#sink.ingestJournal ? this.#sink.ingestJournal(journal.path, from, to) : this.#sink.appendAudit(batch);
    this.#ingesting = stored.then(
      () => {
        this.#ingesting = undefined;
        this.#inStore(batch);
        if (this.#unstored.length > 0) this.#scheduleIngest();
        else if (this.#journal && (empty || this.#journal.size > JOURNAL_KEEP_BYTES) && this.#commit.idle) this.#clearJournal();
      },
      (err: unknown) => {
        // The records stay journalled (durable); they are tried again later.
        this.#ingesting = undefined;
        this.#unstored = batch.concat(this.#unstored);
        this.#unstoredFrom = from;
        this.#rangeKnown = known;
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
      throw new AuditError(AuditErrorCode.BAD_EVENT, 'bad audit event: submit takes an array of events');
    }
    if (typeof onDurable !== 'function') {
      throw new AuditError(AuditErrorCode.BAD_EVENT, 'bad audit event: submit needs an onDurable callback');
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
    // The last events since the Nth get their checkpoint too: a tail cut after shutdown shows.
    await this.#writeCheckpoint().catch(() => undefined);
    this.#journal?.close();
  }

  async search(q: AuditQuery): Promise<AuditEvent[]> {
    await this.flush();
    let records: AuditRecord[];
    try {
      records = await this.#store.searchAudit(q);
    } catch (err) {
      const what = err instanceof StoreError && err.code === StoreErrorCode.BAD_QUERY ? AuditErrorCode.BAD_QUERY : AuditErrorCode.READ_FAILED;
      throw new AuditError(what, (err as Error).message, { cause: err });
    }
    return records.map(parseStoredEvent);
  }

  /** Walks the whole stored chain: an edited, deleted, inserted or reordered event breaks it. */
  /** Walks the whole stored chain: an edited, deleted, inserted or reordered event breaks it; and the newest
   *  signed checkpoint's head must be in it, or events it covered were cut from the tail. */
  async verify(): Promise<VerifyResult & { checkpoint?: CheckpointStatus; keyId?: string }> {
    await this.flush();
    await this.#checkpointWrites.catch(() => undefined);
    let checkpoint: Checkpoint | undefined;
    let result: VerifyResult;
    try {
      checkpoint = (await this.#store.getKv(CHECKPOINT_KV_KEY)) as Checkpoint | undefined;
      result = await verifyChain(this.#store.scanAudit(), checkpoint?.headHash);
    } catch (err) {
      throw new AuditError(AuditErrorCode.READ_FAILED, `cannot read the audit log to verify it: ${(err as Error).message}`, { cause: err });
    }
    const keyId = this.#checkpoint?.signer.keyId;
    if (checkpoint === undefined) {
      const every = this.#checkpoint?.every ?? DEFAULT_CHECKPOINT_EVERY;
      // The log signs at open, every N events and on close: N events and no checkpoint means it was removed.
      if (this.#checkpoint && result.ok && result.count >= every) {
        return { ...result, ok: false, keyId: keyId!, broken: { index: result.count, id: '', reason: `the log holds ${result.count} events but no signed checkpoint: the checkpoint was deleted from the store (or could not be stored: see the server's log)` } };
      }
      return { ...result, ...(keyId ? { keyId } : {}) };
    }
    const status: CheckpointStatus = { checkpoint, ...(result.found !== undefined ? { events: result.found + 1 } : {}) };
    const out = { ...result, checkpoint: status, ...(keyId ? { keyId } : {}) };
    if (!result.ok) return out;
    const forged = this.#checkpoint ? checkpointFault(checkpoint, this.#checkpoint.signer.publicKeyPem) : undefined;
    if (forged !== undefined) {
      return { ...out, ok: false, broken: { index: result.count, id: '', reason: `the checkpoint signed at ${String(checkpoint.time)} is not valid: ${forged}` } };
    }
    if (result.found === undefined) {
      return {
        ...out,
        ok: false,
        broken: {
          index: result.count,
          id: '',
          reason: `the checkpoint signed at ${checkpoint.time} covers events up to ${checkpoint.headHash.slice(0, 16)}…, which the log no longer holds: events after event #${result.count - 1} were cut from its tail`,
        },
      };
    }
    return out;
  }

  /**
   * The stored events from `since` on, in chain order, each newest log checkpoint where its head passes, and
   * last a checkpoint signed now over exactly what was exported (export.ts formats them).
   */
  async *exportItems(since?: Date): AsyncGenerator<ExportItem> {
    const signer = this.#checkpoint?.signer;
    if (!signer) throw new AuditError(AuditErrorCode.NO_KEY, 'this audit log has no signing key: an export could not be checked');
    await this.flush();
    await this.#checkpointWrites.catch(() => undefined);
    const stored = (await this.#store.getKv(CHECKPOINT_KV_KEY)) as Checkpoint | undefined;
    const from = since?.toISOString();
    let fromHash: string | undefined;
    let head: string | undefined;
    let count = 0;
    let storedHeadSeen = false;
    for await (const record of this.#store.scanAudit()) {
      const covers = stored !== undefined && record.hash === stored.headHash;
      storedHeadSeen ||= covers;
      if (from !== undefined && record.time < from) continue;
      fromHash ??= record.prevHash;
      yield { kind: 'event', json: record.json };
      head = record.hash;
      count++;
      if (covers) yield { kind: 'checkpoint', checkpoint: stored };
    }
    // A checkpoint whose head is nowhere in the store goes last, where verify --file names the events it lost.
    if (stored && !storedHeadSeen) yield { kind: 'checkpoint', checkpoint: stored };
    const end = head ?? this.#storedHead;
    yield { kind: 'checkpoint', checkpoint: signer.sign({ kind: 'export', fromHash: fromHash ?? end, headHash: end, count }) };
  }
}

export type ExportItem = { kind: 'event'; json: string } | { kind: 'checkpoint'; checkpoint: Checkpoint };

function writeFailed(err: unknown): AuditError {
  return new AuditError(
    AuditErrorCode.WRITE_FAILED,
    `the audit log could not be written (${err instanceof Error ? err.message : String(err)}); statements are refused until it can`,
    { cause: err },
  );
}
