// Column names in a masking block are written the way SQL writes them: unquoted parts fold to lower case,
// double-quoted parts keep their case. Without folding, a rule written 'Customers.SSN' would never match the
// catalog's customers.ssn and the column would pass unmasked.
import { MaskingError, MaskingErrorCode } from './errors.js';

/** A column as PostgreSQL stores its name: schema, table and column exactly as in the catalog. */
export interface ColumnName {
  schema: string;
  table: string;
  column: string;
}

/** 'customers.email' -> public.customers.email; 'Sales."Order".Note' -> sales.Order.note. */
export function parseColumnName(text: string): ColumnName {
  const parts = splitIdentifier(text);
  if (parts.length === 2) return { schema: 'public', table: parts[0]!, column: parts[1]! };
  if (parts.length === 3) return { schema: parts[0]!, table: parts[1]!, column: parts[2]! };
  throw new MaskingError(
    MaskingErrorCode.BAD_COLUMN,
    `masking column "${text}" must be table.column or schema.table.column (unqualified tables are in schema public)`,
  );
}

/** The key every lookup uses: schema.table.column with the catalog's spelling. */
export function columnKey(c: ColumnName): string {
  return `${c.schema}.${c.table}.${c.column}`;
}

function splitIdentifier(text: string): string[] {
  const parts: string[] = [];
  let i = 0;
  const bad = (why: string) => new MaskingError(MaskingErrorCode.BAD_COLUMN, `masking column "${text}": ${why}`);
  while (i <= text.length) {
    let part = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw bad('unterminated double quote');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i++];
      }
      if (part === '') throw bad('empty quoted name');
    } else {
      const start = i;
      while (i < text.length && text[i] !== '.') i++;
      part = text.slice(start, i).trim();
      if (part === '') throw bad('empty name part');
      if (/["\s]/.test(part)) throw bad(`"${part}" needs double quotes`);
      part = part.toLowerCase();
    }
    parts.push(part);
    if (i >= text.length) break;
    if (text[i] !== '.') throw bad('expected "." after a quoted name');
    i++;
    if (i >= text.length) throw bad('ends with "."');
  }
  return parts;
}
