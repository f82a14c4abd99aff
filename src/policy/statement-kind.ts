// The kind of a top-level statement, from its parse-tree node type. Every node type PostgreSQL 18's grammar
// produces is listed; a type not listed (a newer server's grammar) is 'unknown', which fails closed.
import type { StatementKind } from './statement.js';

const DDL = [
  'CreateSchemaStmt', 'AlterTableStmt', 'ReplicaIdentityStmt', 'AlterCollationStmt', 'AlterDomainStmt', 'CreateStmt',
  'CreateTableSpaceStmt', 'DropTableSpaceStmt', 'AlterTableSpaceOptionsStmt', 'AlterTableMoveAllStmt', 'CreateExtensionStmt',
  'AlterExtensionStmt', 'AlterExtensionContentsStmt', 'CreateFdwStmt', 'AlterFdwStmt', 'CreateForeignServerStmt',
  'AlterForeignServerStmt', 'CreateForeignTableStmt', 'ImportForeignSchemaStmt', 'CreatePolicyStmt', 'AlterPolicyStmt',
  'CreateAmStmt', 'CreateTrigStmt', 'CreateEventTrigStmt', 'AlterEventTrigStmt', 'CreatePLangStmt', 'CreateSeqStmt',
  'AlterSeqStmt', 'DefineStmt', 'CreateDomainStmt', 'CreateOpClassStmt', 'CreateOpFamilyStmt', 'AlterOpFamilyStmt',
  'DropStmt', 'TruncateStmt', 'CommentStmt', 'SecLabelStmt', 'IndexStmt', 'CreateStatsStmt', 'AlterStatsStmt',
  'CreateFunctionStmt', 'AlterFunctionStmt', 'RenameStmt', 'AlterObjectDependsStmt', 'AlterObjectSchemaStmt',
  'AlterOwnerStmt', 'AlterOperatorStmt', 'AlterTypeStmt', 'RuleStmt', 'CompositeTypeStmt', 'CreateEnumStmt',
  'CreateRangeStmt', 'AlterEnumStmt', 'ViewStmt', 'CreatedbStmt', 'AlterDatabaseStmt', 'AlterDatabaseRefreshCollStmt',
  'AlterDatabaseSetStmt', 'DropdbStmt', 'AlterSystemStmt', 'CreateTableAsStmt', 'RefreshMatViewStmt',
  'CreateConversionStmt', 'CreateCastStmt', 'CreateTransformStmt', 'AlterTSDictionaryStmt', 'AlterTSConfigurationStmt',
  'CreatePublicationStmt', 'AlterPublicationStmt', 'CreateSubscriptionStmt', 'AlterSubscriptionStmt', 'DropSubscriptionStmt',
];

// Statements about who may do what. User mappings hold credentials for foreign servers, so they count here.
const DCL = [
  'GrantStmt', 'GrantRoleStmt', 'AlterDefaultPrivilegesStmt', 'CreateRoleStmt', 'AlterRoleStmt', 'AlterRoleSetStmt',
  'DropRoleStmt', 'DropOwnedStmt', 'ReassignOwnedStmt', 'CreateUserMappingStmt', 'AlterUserMappingStmt', 'DropUserMappingStmt',
];

const KIND_BY_NODE: ReadonlyMap<string, StatementKind> = new Map<string, StatementKind>([
  ['SelectStmt', 'select'], ['InsertStmt', 'insert'], ['UpdateStmt', 'update'], ['DeleteStmt', 'delete'], ['MergeStmt', 'merge'],
  ['VariableSetStmt', 'set'], ['VariableShowStmt', 'show'], ['TransactionStmt', 'transaction'],
  // SET CONSTRAINTS only changes when the current transaction checks deferrable constraints.
  ['ConstraintsSetStmt', 'transaction'],
  ['ExplainStmt', 'explain'], ['DoStmt', 'do'], ['CallStmt', 'call'], ['ExecuteStmt', 'execute'],
  ['DeallocateStmt', 'deallocate'], ['DeclareCursorStmt', 'cursor'], ['FetchStmt', 'cursor'], ['ClosePortalStmt', 'cursor'],
  ['VacuumStmt', 'utility'], ['LockStmt', 'utility'], ['ListenStmt', 'utility'], ['UnlistenStmt', 'utility'],
  ['NotifyStmt', 'utility'], ['CheckPointStmt', 'utility'], ['DiscardStmt', 'discard'], ['LoadStmt', 'utility'],
  ['ClusterStmt', 'utility'], ['ReindexStmt', 'utility'],
  ...DDL.map((t): [string, StatementKind] => [t, 'ddl']),
  ...DCL.map((t): [string, StatementKind] => [t, 'dcl']),
]);

// LOCK TABLE ... IN ACCESS SHARE MODE (pg_dump's) conflicts only with ACCESS EXCLUSIVE: it keeps the table's
// definition still while it is read, and blocks nobody's reads or writes. Stronger modes stay 'utility'.
const ACCESS_SHARE_LOCK = 1;
const TWO_PHASE: ReadonlySet<string> = new Set(['TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);

export function kindOfNode(type: string, body: Record<string, unknown>): StatementKind {
  if (type === 'SelectStmt' && body.intoClause) return 'select-into';
  if (type === 'LockStmt' && body.mode === ACCESS_SHARE_LOCK) return 'lock';
  // Two-phase commit is no housekeeping: a prepared transaction keeps its locks after the session ends.
  if (type === 'TransactionStmt' && TWO_PHASE.has(String(body.kind))) return 'utility';
  if (type === 'CopyStmt') return body.is_from ? 'copy-in' : 'copy-out';
  return KIND_BY_NODE.get(type) ?? 'unknown';
}

export const DML_KINDS: ReadonlySet<StatementKind> = new Set(['insert', 'update', 'delete', 'merge']);
