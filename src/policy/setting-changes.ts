// Which settings a statement changes. A forced setting (statement_timeout, app.region for row-level security)
// is only forced if every way of changing it is seen: SET, SET LOCAL, RESET, RESET ALL, set_config(),
// SET SESSION CHARACTERISTICS, and the transaction modes of BEGIN / SET TRANSACTION.
import { constantText, isObject, nameParts, unwrap, type ParseObject } from './parse-node.js';
import type { SettingChange } from './statement.js';

export interface SetStatementEffect {
  changes: SettingChange[];
  resetsAll: boolean;
  unclassified?: string;
}

/** SET / SET LOCAL / RESET / RESET ALL / SET ... FROM CURRENT / SET TRANSACTION / SET SESSION CHARACTERISTICS. */
export function setStatementEffect(body: ParseObject): SetStatementEffect {
  const kind = body.kind as string | undefined;
  const name = typeof body.name === 'string' ? body.name.toLowerCase() : '';
  switch (kind) {
    case 'VAR_SET_VALUE':
      return { changes: [{ name, value: argsText(body.args) }], resetsAll: false };
    case 'VAR_SET_DEFAULT':
    case 'VAR_SET_CURRENT':
    case 'VAR_RESET':
      return { changes: [{ name, value: null }], resetsAll: false };
    case 'VAR_RESET_ALL':
      return { changes: [], resetsAll: true };
    case 'VAR_SET_MULTI':
      // SET TRANSACTION changes this transaction's modes; SET SESSION CHARACTERISTICS the defaults of later ones.
      if (name === 'transaction') return { changes: transactionModes(body.args, ''), resetsAll: false };
      if (name === 'session characteristics') return { changes: transactionModes(body.args, 'default_'), resetsAll: false };
      return { changes: [], resetsAll: false, unclassified: `SET ${String(body.name)} is a form of SET the analyzer does not know` };
    default:
      return { changes: [], resetsAll: false, unclassified: `SET of kind ${String(kind)} is not known to the analyzer` };
  }
}

/** BEGIN ISOLATION LEVEL ... READ WRITE: the options are transaction_isolation, transaction_read_only, transaction_deferrable. */
export function transactionModes(options: unknown, prefix: '' | 'default_'): SettingChange[] {
  if (!Array.isArray(options)) return [];
  const out: SettingChange[] = [];
  for (const opt of options) {
    const w = isObject(opt) ? unwrap(opt) : undefined;
    if (!w || w[0] !== 'DefElem' || typeof w[1].defname !== 'string') continue;
    out.push({ name: prefix + w[1].defname.toLowerCase(), value: constantText(w[1].arg) ?? null });
  }
  return out;
}

/** The value a SET gives, when it is made of constants ('a, b' for a list such as search_path). */
function argsText(args: unknown): string | null {
  if (!Array.isArray(args) || args.length === 0) return null;
  const parts: string[] = [];
  for (const a of args) {
    const t = constantText(a);
    if (t === undefined || t === null) return null;
    parts.push(t);
  }
  return parts.join(', ');
}

/**
 * set_config(setting_name, new_value, is_local): the setting it changes, or why that cannot be known. Named
 * arguments (setting_name => 'role') are understood; a computed name is not, and fails closed.
 */
export function setConfigEffect(args: unknown, settingsRowName?: string): SettingChange | { unclassified: string } {
  const list = Array.isArray(args) ? args : [];
  let nameArg: unknown = undefined;
  let valueArg: unknown = undefined;
  list.forEach((a, i) => {
    const w = isObject(a) ? unwrap(a) : undefined;
    if (w && w[0] === 'NamedArgExpr') {
      if (w[1].name === 'setting_name') nameArg = w[1].arg;
      if (w[1].name === 'new_value') valueArg = w[1].arg;
    } else if (i === 0) nameArg = a;
    else if (i === 1) valueArg = a;
  });
  const name = constantText(nameArg) ?? (settingsRowName !== undefined && isSettingsNameColumn(nameArg) ? settingsRowName : undefined);
  if (typeof name !== 'string') {
    return { unclassified: 'set_config() is called with a setting name that is not a literal, so the setting it changes cannot be known' };
  }
  const value = constantText(valueArg);
  // null is RESET for set_config; a computed value is not known, and search_path's value decides what names mean.
  if (value === undefined && name.toLowerCase() === 'search_path') return { unclassified: 'set_config() sets search_path to a value that is not a literal, so what names would mean cannot be known' };
  return { name: name.toLowerCase(), value: value ?? null };
}

/** The column `name` (or pg_settings.name) of the row a `FROM pg_settings WHERE name = ...` select keeps. */
export function isSettingsNameColumn(node: unknown): boolean {
  const w = isObject(node) ? unwrap(node) : undefined;
  const parts = w?.[0] === 'ColumnRef' ? nameParts(w[1].fields) : [];
  return parts.length === 1 ? parts[0] === 'name' : parts.length === 2 && parts[0] === 'pg_settings' && parts[1] === 'name';
}
