// The writer thread's side of journal ingestion: reads a byte range of the audit journal the relay thread has
// appended (and made durable) and gives back its records. One descriptor per journal file, kept open: the
// journal is truncated in place, never replaced.
import { closeSync, openSync, readSync } from 'node:fs';
import { auditRecordsOfLines } from '../audit-record-of.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { AuditRecord } from '../records.js';

export class JournalReader {
  readonly #fds = new Map<string, number>();

  /** The records in bytes [from, to) of `file`, which must be whole lines. */
  read(file: string, from: number, to: number): AuditRecord[] {
    if (typeof file !== 'string' || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
      throw new StoreError(StoreErrorCode.BAD_RECORD, 'a journal range must be a file and two byte offsets, from <= to');
    }
    let fd = this.#fds.get(file);
    if (fd === undefined) {
      fd = openSync(file, 'r');
      this.#fds.set(file, fd);
    }
    const buf = Buffer.allocUnsafe(to - from);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) throw new StoreError(StoreErrorCode.CORRUPT, `the audit journal ${file} ends at byte ${from + got}, before the ${to} it was written to`);
      got += n;
    }
    return auditRecordsOfLines(buf.toString('utf8'));
  }

  close(): void {
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }
}
