// Shape checks for what a recording holds, used both when writing (bad input from the gateway)
// and when reading (data changed in the store), so both fail with one clear message.

type Fault = string | undefined;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringFields(v: unknown, where: string, fields: readonly string[]): Fault {
  if (!isObject(v)) return `${where} must be an object`;
  for (const f of fields) if (typeof v[f] !== 'string') return `${where}.${f} must be a string`;
  return undefined;
}

export function headerFault(h: unknown): Fault {
  if (!isObject(h)) return 'the header must be an object';
  if (typeof h['sid'] !== 'string' || h['sid'] === '') return 'header.sid must be a non-empty string';
  if (typeof h['startedAt'] !== 'string' || Number.isNaN(Date.parse(h['startedAt']))) return 'header.startedAt must be an ISO 8601 time';
  const identity = h['identity'];
  return (
    stringFields(identity, 'header.identity', ['name', 'kind']) ??
    (isObject(identity) && !Array.isArray(identity['roles']) ? 'header.identity.roles must be an array' : undefined) ??
    stringFields(h['task'], 'header.task', ['id', 'reason', 'requester']) ??
    stringFields(h['db'], 'header.db', ['service', 'name', 'user']) ??
    stringFields(h['client'], 'header.client', ['addr'])
  );
}

function finiteNumber(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v);
}

export function statementFault(s: unknown): Fault {
  if (!isObject(s)) return 'a statement must be an object';
  if (typeof s['sql'] !== 'string') return 'statement.sql must be a string';
  if (!finiteNumber(s['t'])) return 'statement.t must be a finite number of ms';
  if (!finiteNumber(s['ms'])) return 'statement.ms must be a finite number';
  if (s['rows'] !== undefined && !finiteNumber(s['rows'])) return 'statement.rows must be a number';
  const params = s['params'];
  if (params !== undefined && (!Array.isArray(params) || params.some((p) => p !== null && typeof p !== 'string'))) {
    return 'statement.params must be an array of strings and nulls';
  }
  if (s['error'] !== undefined) return stringFields(s['error'], 'statement.error', ['code', 'message']);
  return undefined;
}

export function endFault(e: unknown): Fault {
  if (!isObject(e)) return 'the end marker must be an object';
  if (typeof e['endedAt'] !== 'string' || Number.isNaN(Date.parse(e['endedAt']))) return 'end.endedAt must be an ISO 8601 time';
  if (e['reason'] !== undefined && typeof e['reason'] !== 'string') return 'end.reason must be a string';
  return undefined;
}

