import { StoreError, type AuditQuery, type AuditRecord, type Store } from '../store/index.js';
import { buildEvent } from './build-event.js';
import { GENESIS_HASH } from './chain.js';
import { AuditError } from './errors.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import { GroupCommit, type DurableCallback } from './group-commit.js';
import { parseStoredEvent } from './stored-event.js';
import { verifyChain, type VerifyResult } from './verify.js';

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

  private constructor(store: Store, head: string) {
    this.#store = store;
    this.#head = head;
    this.#storedHead = head;
    this.#commit = new GroupCommit<AuditRecord>(
      async (batch) => {
        try {
          await this.#store.appendAudit(batch);
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

  /** Loads the chain head from the store. */
  static async open(store: Store): Promise<AuditLog> {
    const head = (await store.lastAuditHash()) ?? GENESIS_HASH;
    return new AuditLog(store, head);
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

  /** Resolves once everything submitted before it is stored; rejects if that write failed. */
  flush(): Promise<void> {
    if (this.#commit.idle) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#commit.add([], (err) => (err === undefined ? resolve() : reject(err)));
    });
  }

  async search(q: AuditQuery): Promise<AuditEvent[]> {
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
