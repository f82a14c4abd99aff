// The masking that applies to one session: the union of the `masking:` blocks of every role the identity
// holds (including an approved just-in-time role, for its TTL). A column masked by any role stays masked
// unless one of the roles unmasks it; detectors add up; filters on masked columns are allowed only if every
// role that says anything allows them.
import { DETECTOR_KINDS, maskingBlockSchema, type DetectorKind, type MaskingBlockInput } from './config.js';
import { ContentScanner } from './detectors.js';
import { MaskingError, MaskingErrorCode } from './errors.js';
import { columnKey, parseColumnName, type ColumnName } from './identifiers.js';
import { strategyFromConfig, strictestStrategy, type Strategy } from './strategies.js';

export interface MaskingPolicy {
  /** masked columns, 'schema.table.column' as the catalog spells it -> strategy */
  readonly columns: ReadonlyMap<string, Strategy>;
  /** the same, grouped by relation: 'schema.table' -> column -> strategy */
  readonly relations: ReadonlyMap<string, ReadonlyMap<string, Strategy>>;
  readonly detectors: ReadonlySet<DetectorKind>;
  /** undefined when no detector is on */
  readonly scanner: ContentScanner | undefined;
  /** may a masked column be used in WHERE, JOIN, ORDER BY, GROUP BY, HAVING, windows */
  readonly filters: 'deny' | 'allow';
  /** LISTEN/NOTIFY payloads: replaced whole, scanned by the detectors, or passed (nothing to mask) */
  readonly notifications: 'redact' | 'scan' | 'pass';
  /** the key of the hash strategy */
  readonly hashKey: Buffer;
  /** false when nothing is masked and no detector is on: every result passes untouched */
  readonly active: boolean;
}

export interface CompileOptions {
  /** filters when no role says: 'deny' (the default, right for agents) or 'allow' */
  defaultFilters?: 'deny' | 'allow';
}

export const HASH_KEY_BYTES = 32;

/** Compiles the masking blocks of a session's roles (undefined for a role without one) into one policy. */
export function compileMasking(
  blocks: readonly (MaskingBlockInput | undefined)[],
  hashKey: Buffer,
  options: CompileOptions = {},
): MaskingPolicy {
  if (!Buffer.isBuffer(hashKey) || hashKey.length !== HASH_KEY_BYTES) {
    throw new MaskingError(MaskingErrorCode.BAD_KEY, `the masking hash key must be ${HASH_KEY_BYTES} bytes`);
  }
  const masked = new Map<string, Strategy>();
  const names = new Map<string, ColumnName>();
  const unmasked = new Set<string>();
  const detectors = new Set<DetectorKind>();
  const filterVotes: ('deny' | 'allow')[] = [];
  const notifyVotes: ('redact' | 'scan')[] = [];
  blocks.forEach((raw, index) => {
    if (raw === undefined) return;
    const parsed = maskingBlockSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
      throw new MaskingError(MaskingErrorCode.BAD_CONFIG, `masking block ${index + 1}${where}: ${issue?.message ?? 'invalid'}`);
    }
    const block = parsed.data;
    for (const [name, config] of Object.entries(block.columns)) {
      const parsedName = parseColumnName(name);
      const key = columnKey(parsedName);
      names.set(key, parsedName);
      const strategy = strategyFromConfig(config);
      const before = masked.get(key);
      masked.set(key, before ? strictestStrategy(before, strategy) : strategy);
    }
    for (const name of block.unmask) unmasked.add(columnKey(parseColumnName(name)));
    for (const d of block.detectors === 'all' ? DETECTOR_KINDS : block.detectors) detectors.add(d);
    if (block.filters) filterVotes.push(block.filters);
    if (block.notifications) notifyVotes.push(block.notifications);
  });
  for (const key of unmasked) masked.delete(key);

  const relations = new Map<string, Map<string, Strategy>>();
  for (const [key, strategy] of masked) {
    const { schema, table, column } = names.get(key)!;
    const relation = `${schema}.${table}`;
    let cols = relations.get(relation);
    if (!cols) relations.set(relation, (cols = new Map()));
    cols.set(column, strategy);
  }
  const filters = filterVotes.length === 0 ? (options.defaultFilters ?? 'deny') : filterVotes.every((v) => v === 'allow') ? 'allow' : 'deny';
  // A payload can carry anything a trigger put into it, masked columns included: where columns are masked the
  // default replaces payloads whole; with detectors only, they are scanned.
  const notifications =
    notifyVotes.includes('redact') || (notifyVotes.length === 0 && masked.size > 0)
      ? 'redact'
      : notifyVotes.length > 0 || detectors.size > 0
        ? 'scan'
        : 'pass';
  return Object.freeze({
    columns: masked,
    relations,
    detectors,
    scanner: detectors.size > 0 ? new ContentScanner(detectors) : undefined,
    filters,
    notifications,
    hashKey,
    active: masked.size > 0 || detectors.size > 0,
  });
}
