// The audit write-ahead journal: events are durable once appended here (one write per group commit, no
// database transaction on the statement's path); the searchable store is filled from it in the background
// and the journal is emptied once the store holds everything. After a crash, `pending()` gives back what the
// store had not taken yet.
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, writeSync, fchmodSync } from 'node:fs';
import type { AuditRecord } from '../store/index.js';
import { AuditError, AuditErrorCode } from './errors.js';
import { toAuditRecord } from './build-event.js';
import type { AuditEvent } from './event.js';

export class AuditJournal {
  /** bytes in the file, counted as they are written (no stat on the hot path) */
  private bytes: number;

  private constructor(
    private readonly file: string,
    private fd: number,
  ) {
    this.bytes = fstatSync(fd).size;
  }

  static open(file: string): AuditJournal {
    let fd: number;
    try {
      fd = openSync(file, 'a+', 0o600);
      fchmodSync(fd, 0o600);
    } catch (err) {
      throw new AuditError(AuditErrorCode.JOURNAL, `cannot open the audit journal ${file}: ${(err as Error).message}`, { cause: err });
    }
    return new AuditJournal(file, fd);
  }

  /**
   * Appends the records in one write (O_APPEND: a reader never sees half a batch interleaved), a line each:
   * the event's own canonical JSON, which is already made (the store's columns are read back from it).
   */
  append(records: readonly AuditRecord[]): void {
    let text = '';
    for (const r of records) text += r.json + '\n';
    const bytes = Buffer.from(text, 'utf8');
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (err) {
      // A batch half written (disk full) must not stay: the next batch would follow a torn line, and recovery
      // stops reading at a torn line. The file goes back to where the batch began.
      try {
        ftruncateSync(this.fd, this.bytes);
      } catch {
        // the append's own error is the one to report
      }
      throw err;
    }
    this.bytes += bytes.length;
  }

  /** Every complete record in the journal, in order; a torn last line (a crash mid-write) is ignored. */
  pending(): AuditRecord[] {
    const text = readFileSync(this.file, 'utf8');
    const out: AuditRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      let parsed: AuditEvent | AuditRecord;
      try {
        parsed = JSON.parse(line) as AuditEvent | AuditRecord;
      } catch {
        break;
      }
      // Journals written before the line was the event itself held the store record.
      out.push(typeof (parsed as AuditRecord).json === 'string' ? (parsed as AuditRecord) : toAuditRecord(parsed as AuditEvent, line));
    }
    return out;
  }

  get size(): number {
    return this.bytes;
  }

  /** The file, for a writer that reads what was appended (`AuditLog` hands it byte ranges). */
  get path(): string {
    return this.file;
  }

  /** Called once the store holds every journalled record. */
  clear(): void {
    ftruncateSync(this.fd, 0);
    this.bytes = 0;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
