// Names a statement gives or takes away in the session's namespaces of prepared statements and portals, which
// PostgreSQL shares between SQL and the extended protocol: a SQL PREPARE can be run by a protocol Bind, a SQL
// DECLARE by a protocol Execute of its name, and DEALLOCATE, CLOSE and DISCARD ALL remove protocol ones too.
import { unwrap, type AnalyzedStatement } from '../policy/index.js';

// DeclareCursorStmt options (PostgreSQL's CURSOR_OPT_*).
const CURSOR_OPT_BINARY = 0x0001;
const CURSOR_OPT_HOLD = 0x0020;

export type NameEffect =
  /** PREPARE name AS ... */
  | { kind: 'prepare'; name: string }
  /** DECLARE name CURSOR ...: a portal; without HOLD it ends with its transaction */
  | { kind: 'declare'; name: string; hold: boolean; binary: boolean }
  /** DEALLOCATE name; undefined: DEALLOCATE ALL */
  | { kind: 'deallocate'; name: string | undefined }
  /** CLOSE name; undefined: CLOSE ALL */
  | { kind: 'close'; name: string | undefined }
  /** DISCARD ALL: every prepared statement and every portal */
  | { kind: 'discard-all' };

/** What the statement does to the session's names, if anything. */
export function nameEffect(stmt: AnalyzedStatement): NameEffect | undefined {
  if (stmt.wrapper === 'prepare' && stmt.preparedName !== undefined) return { kind: 'prepare', name: stmt.preparedName };
  const node = unwrap(stmt.node);
  if (!node) return undefined;
  const [type, body] = node;
  switch (type) {
    case 'DeclareCursorStmt': {
      const options = typeof body.options === 'number' ? body.options : 0;
      return { kind: 'declare', name: typeof body.portalname === 'string' ? body.portalname : '', hold: (options & CURSOR_OPT_HOLD) !== 0, binary: (options & CURSOR_OPT_BINARY) !== 0 };
    }
    case 'DeallocateStmt':
      return { kind: 'deallocate', name: body.isall === true || typeof body.name !== 'string' ? undefined : body.name };
    case 'ClosePortalStmt':
      return { kind: 'close', name: typeof body.portalname === 'string' ? body.portalname : undefined };
    case 'DiscardStmt':
      return body.target === 'DISCARD_ALL' ? { kind: 'discard-all' } : undefined;
    default:
      return undefined;
  }
}
