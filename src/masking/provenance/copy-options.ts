// The options of a COPY statement as the parse tree holds them (both the WITH (...) list and the old
// `CSV HEADER DELIMITER ';'` spelling arrive as DefElems), with PostgreSQL's defaults filled in.
import { MaskingError, MaskingErrorCode } from '../errors.js';
import { list, unwrap } from './parse-tree.js';

export interface CopyOptions {
  readonly format: 'text' | 'csv' | 'binary';
  readonly delimiter: string;
  /** the text that stands for NULL */
  readonly null: string;
  readonly quote: string;
  readonly escape: string;
  /** the first line holds column names */
  readonly header: boolean;
  /** ENCODING, when the statement names one */
  readonly encoding?: string;
}

export function parseCopyOptions(options: unknown): CopyOptions {
  let format: CopyOptions['format'] = 'text';
  const given: Record<string, unknown> = {};
  for (const o of list(options)) {
    const w = unwrap(o);
    if (!w || w[0] !== 'DefElem' || typeof w[1].defname !== 'string') continue;
    const name = w[1].defname.toLowerCase();
    const value = defValue(w[1].arg);
    if (name === 'format') {
      const f = String(value).toLowerCase();
      if (f !== 'text' && f !== 'csv' && f !== 'binary') throw new MaskingError(MaskingErrorCode.COPY, `COPY format "${f}" is not known`);
      format = f;
    } else given[name] = value;
  }
  const csv = format === 'csv';
  const text = (name: string, fallback: string): string => (typeof given[name] === 'string' ? (given[name] as string) : fallback);
  const quote = text('quote', '"');
  const header = given.header === undefined ? false : given.header === true || ['true', 'on', '1', 'match'].includes(String(given.header).toLowerCase());
  return {
    format,
    delimiter: text('delimiter', csv ? ',' : '\t'),
    null: text('null', csv ? '' : '\\N'),
    quote,
    escape: text('escape', quote),
    header,
    ...(typeof given.encoding === 'string' ? { encoding: given.encoding } : {}),
  };
}

/** A DefElem's argument: true for a bare option (HEADER), a string, a number, or undefined for lists and '*'. */
function defValue(arg: unknown): unknown {
  if (arg === undefined) return true;
  const w = unwrap(arg);
  if (!w) return undefined;
  const [type, body] = w;
  if (type === 'String') return typeof body.sval === 'string' ? body.sval : '';
  if (type === 'Boolean') return body.boolval === true;
  if (type === 'Integer') return String((body.ival as number | undefined) ?? 0);
  return undefined;
}
