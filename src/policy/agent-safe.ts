// The rules every agent and bot gets before its roles' own rules (role option `defaults: agent-safe`, the
// default for agents and bots). They refuse or hold what no agent should do; the only things they allow are the
// housekeeping every client sends (harmless settings, ACCESS SHARE locks), so that psql, pg_dump, drivers and
// ORMs work without each role listing them. What an agent may read and write is still up to its roles.
import type { Rule } from './rule-schema.js';

// Functions that reach past the database the policy sees: the server's files, the network, other sessions,
// the server process itself. The lists name PostgreSQL 18's built-ins and the common extensions.
const SERVER_FILE_FUNCTIONS = [
  'pg_read_file', 'pg_read_binary_file', 'pg_stat_file', 'pg_ls_*', 'pg_file_*', 'pg_logdir_ls', 'pg_current_logfile',
  // Large objects live outside any relation the rules name, and lo_import/lo_export read and write server files.
  'lo_*', 'loread', 'lowrite',
];
const NETWORK_FUNCTIONS = ['dblink', 'dblink_*', 'http', 'http_*'];
const SERVER_CONTROL_FUNCTIONS = [
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote', 'pg_switch_wal',
  'pg_create_restore_point', 'pg_backup_start', 'pg_backup_stop', 'pg_log_backend_memory_contexts', 'pg_stat_reset*',
  'pg_notify', 'pg_logical_*', 'pg_replication_*', 'pg_create_*_replication_slot', 'pg_drop_replication_slot',
  'pg_copy_*_replication_slot', 'pg_sync_replication_slots', 'pg_wal_replay_*', 'pg_import_system_collations',
  // PostgreSQL 18 lets the owner rewrite planner statistics: a catalog write by another name.
  'pg_restore_*_stats', 'pg_clear_*_stats',
];
// Functions that run SQL given to them as a string: what that SQL touches is invisible to the analyzer.
const DYNAMIC_SQL_FUNCTIONS = [
  'query_to_xml*', 'query_to_xmlschema', 'table_to_xml*', 'table_to_xmlschema', 'cursor_to_xml*', 'schema_to_xml*',
  'database_to_xml*', 'ts_stat', 'ts_rewrite',
];
// Catalogs that show other sessions' queries, credentials or server configuration files.
const SENSITIVE_CATALOGS = [
  'pg_catalog.pg_authid', 'pg_catalog.pg_shadow', 'pg_catalog.pg_user_mapping', 'pg_catalog.pg_user_mappings',
  'pg_catalog.pg_largeobject', 'pg_catalog.pg_stat_activity', '*.pg_stat_statements*', 'pg_catalog.pg_file_settings',
  'pg_catalog.pg_hba_file_rules', 'pg_catalog.pg_ident_file_mappings', 'pg_catalog.pg_stat_replication',
];

// Advisory locks, session- and transaction-level, shared or not, waiting or try_: a session-level lock outlives
// the transaction and is held until the session ends, blocking whoever waits on the same key.
const ADVISORY_LOCK_FUNCTIONS = ['pg_advisory_*', 'pg_try_advisory_*'];

/** The one agent-safe rule a role can lift, with `allowAdvisoryLocks: true` (an application that coordinates through them). */
export const ADVISORY_LOCKS_RULE = 'agent-safe:no-advisory-locks';

// Settings drivers and dump tools set that change neither what the policy reads nor what a statement may reach.
// search_path only to values that keep unqualified names as the analyzer reads them (protected-settings.ts refuses
// the rest); settings a role forces stay protected whatever is listed here.
const CLIENT_SETTINGS = [
  'client_encoding', 'datestyle', 'timezone', 'intervalstyle', 'extra_float_digits', 'client_min_messages', 'bytea_output',
  'search_path', 'synchronize_seqscans', 'row_security', 'restrict_nonsystem_relation_kind', 'standard_conforming_strings', 'lc_monetary', 'lc_numeric', 'lc_time',
  'xmloption', 'xmlbinary', 'quote_all_identifiers', 'escape_string_warning', 'default_text_search_config',
  'transaction_isolation', 'transaction_read_only', 'transaction_deferrable', 'default_transaction_isolation',
  'default_transaction_read_only', 'default_transaction_deferrable',
];

export const AGENT_SAFE_RULES: readonly Rule[] = Object.freeze([
  { name: 'agent-safe:no-ddl', action: 'deny', match: { kinds: ['ddl', 'select-into'] }, message: 'agents may not change the schema (DDL, SELECT INTO, CREATE TABLE AS)' },
  { name: 'agent-safe:no-dcl', action: 'deny', match: { kinds: ['dcl'] }, message: 'agents may not change roles or privileges (GRANT, REVOKE, CREATE ROLE ...)' },
  { name: 'agent-safe:no-do-call', action: 'deny', match: { kinds: ['do', 'call'] }, message: 'agents may not run DO blocks or CALL procedures: the code they run cannot be checked' },
  { name: 'agent-safe:no-copy-program', action: 'deny', match: { copyProgram: true }, message: 'COPY ... PROGRAM runs a command on the database server' },
  { name: 'agent-safe:no-copy-file', action: 'deny', match: { copyFile: true }, message: "COPY to or from a file reads or writes the database server's files; use STDIN/STDOUT" },
  { name: 'agent-safe:no-role-change', action: 'deny', match: { settings: ['role', 'session_authorization'] }, message: 'agents may not change the database role (SET ROLE, RESET ROLE, SET SESSION AUTHORIZATION, set_config)' },
  { name: 'agent-safe:no-server-files', action: 'deny', match: { functions: SERVER_FILE_FUNCTIONS }, message: "functions that reach the database server's files or large objects are not allowed" },
  { name: 'agent-safe:no-network', action: 'deny', match: { functions: NETWORK_FUNCTIONS }, message: 'functions that open network connections (dblink, http) are not allowed' },
  { name: 'agent-safe:no-server-control', action: 'deny', match: { functions: SERVER_CONTROL_FUNCTIONS }, message: 'functions that signal other sessions or control the server are not allowed' },
  { name: 'agent-safe:no-dynamic-sql', action: 'deny', match: { functions: DYNAMIC_SQL_FUNCTIONS }, message: 'functions that run SQL passed as a string (query_to_xml, ts_stat ...) are not allowed: that SQL cannot be checked' },
  { name: 'agent-safe:no-sleep', action: 'deny', match: { functions: ['pg_sleep', 'pg_sleep_for', 'pg_sleep_until'] }, message: 'pg_sleep holds a database connection and its locks while doing nothing' },
  { name: ADVISORY_LOCKS_RULE, action: 'deny', match: { functions: ADVISORY_LOCK_FUNCTIONS }, message: 'advisory locks can be held indefinitely and block other sessions; a role allows them with allowAdvisoryLocks: true' },
  { name: 'agent-safe:no-sensitive-catalogs', action: 'deny', match: { tables: SENSITIVE_CATALOGS }, message: 'this system catalog shows credentials, other sessions or server configuration' },
  { name: 'agent-safe:no-catalog-writes', action: 'deny', match: { writes: ['pg_catalog.*', 'information_schema.*'] }, message: 'agents may not write system catalogs (UPDATE pg_settings changes settings)' },
  // What drivers and pg_dump send before anything else: allowed here so that no role has to list it. A SELECT may
  // read pg_settings alone (pg_dump's set_config over its row): one that reads a table is for the role to decide.
  { name: 'agent-safe:client-settings', action: 'allow', match: { kinds: ['set', 'select', 'transaction', 'show', 'empty', 'discard', 'deallocate'], settings: CLIENT_SETTINGS, reads: ['pg_catalog.pg_settings'], functions: ['pg_catalog.set_config'] }, message: 'client housekeeping: settings that change neither what the policy reads nor what a statement may reach' },
  // A connection pool's reset: every setting goes back to its value at the session's start, which for the
  // settings the gateway fixes is the fixed value (they are in the startup packet).
  { name: 'agent-safe:session-reset', action: 'allow', match: { kinds: ['set', 'discard'], resetsAll: true, settings: ['*'] }, message: 'RESET ALL and DISCARD ALL return to the session\'s starting settings' },
  { name: 'agent-safe:share-locks', action: 'allow', match: { kinds: ['lock', 'transaction'] }, message: 'LOCK TABLE ... IN ACCESS SHARE MODE blocks only schema changes' },
  { name: 'agent-safe:whereless-review', action: 'review', match: { whereless: true }, message: 'an UPDATE or DELETE without a WHERE clause changes every row; a person has to approve it' },
] satisfies Rule[]);
