// Which PostgreSQL types a masked string can stand in for. A client decodes a value by its type OID: '***' is
// a fine text, varchar or (quoted) json value, but no integer, date or array, and a client that cannot parse a
// value fails the whole result. Those columns become NULL instead (or the statement is refused).

export const TEXT_OID = 25;
export const JSON_OID = 114;
export const JSONB_OID = 3802;

/** Types whose binary form is the UTF-8 text itself (jsonb: a version byte 1, then the text). */
const TEXT_LIKE: ReadonlySet<number> = new Set([
  25, // text
  1043, // varchar
  1042, // bpchar
  19, // name
  114, // json
  3802, // jsonb
  705, // unknown
]);

/** Types whose text form is never free text: scanning it for card numbers would only mangle numbers. */
const NOT_TEXT: ReadonlySet<number> = new Set([
  16, 17, 18, 20, 21, 22, 23, 24, 26, 27, 28, 29, 30, 600, 601, 602, 603, 604, 628, 650, 700, 701, 718, 774, 790, 829,
  869, 1033, 1082, 1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700, 2202, 2203, 2204, 2205, 2206, 2950, 2970, 3220,
  3734, 3769, 3904, 3906, 3908, 3910, 3912, 3926, 4089, 4096, 4451, 4532, 4533, 4534, 4535, 4536, 5069,
  // arrays of those
  1000, 1001, 1002, 1005, 1006, 1007, 1008, 1010, 1011, 1012, 1013, 1016, 1017, 1018, 1019, 1020, 1021, 1022, 1027,
  1028, 1034, 1040, 651, 1041, 1115, 1182, 1183, 1185, 1187, 1231, 1270, 1561, 1563, 2201, 2207, 2208, 2209, 2210,
  2211, 2951, 3221, 791, 775, 3905, 3907, 3909, 3911, 3913, 3927,
]);

/** Arrays (and other structured text) of text: worth scanning, but '***' is no valid value for them. */
const STRUCTURED_TEXT: ReadonlySet<number> = new Set([
  1009, // text[]
  1014, // bpchar[]
  1015, // varchar[]
  1003, // name[]
  199, // json[]
  3807, // jsonb[]
  2287, // record[]
  3614, // tsvector
  3615, // tsquery
  3643, // tsvector[]
  3645, // tsquery[]
  142, // xml
  143, // xml[]
]);

/** Whether a masked string can replace a value of this type in this format (0 text, 1 binary). */
export function canCarryText(typeOid: number, format: number): boolean {
  if (format === 1) return TEXT_LIKE.has(typeOid);
  return !NOT_TEXT.has(typeOid) && !STRUCTURED_TEXT.has(typeOid);
}

/** Whether the content detectors should look at values of this type in this format. */
export function isScannable(typeOid: number, format: number): boolean {
  if (format === 1) return TEXT_LIKE.has(typeOid);
  return !NOT_TEXT.has(typeOid);
}

export function isJsonType(typeOid: number): boolean {
  return typeOid === JSON_OID || typeOid === JSONB_OID;
}
