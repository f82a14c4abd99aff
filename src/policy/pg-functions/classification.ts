// What the gateway concludes about a PostgreSQL function, from pg_proc's facts (catalogue.ts) and the reviews
// below. Two questions matter to anyone guarding data that a function touches:
// - where its result can come from, given arguments that carry no protected data: only from its arguments
//   (every immutable function: pg_proc's own promise), from catalogs and settings (reviewed below), or
//   possibly from table data it reads itself (query_to_xml, lo_get, user functions: everything else);
// - which arguments may carry protected data without the function giving it away by another exit than its
//   result: an error raised for some values but not others (a quoted argument, division by zero, an out of
//   range index), rows multiplied (set-returning functions), or the value kept or sent somewhere (sinks).
//   Only the reviewed TOTAL functions qualify, and only in the argument positions listed; pg_proc's
//   leakproof marking (comparisons, hashes) qualifies in every position.
import { constantText, isObject, list, nameParts, unwrap } from '../parse-node.js';
import { pgFunctionFacts, type PgFunctionFacts } from './catalogue.js';

export type ResultSource = 'arguments' | 'catalog' | 'data';

export interface FunctionClass {
  /** the function's name as written, without a pg_catalog qualifier */
  readonly name: string;
  /** pg_proc's facts for a pg_catalog function; undefined for user functions and names pg_catalog lacks */
  readonly facts: PgFunctionFacts | undefined;
  readonly result: ResultSource;
  /** the arguments go somewhere outside the result (a setting, a sequence, a notification, a lock, a delay) */
  readonly sink: boolean;
  /** set-returning: how many rows it yields depends on its arguments */
  readonly setReturning: boolean;
}

// Reviewed: functions that never raise an error whose occurrence depends on the values in the listed
// argument positions (1-based; '*' every position), never return a set, and neither store nor send their
// arguments. NULL-ness is not protected (masking keeps NULL as NULL), so errors on NULL alone do not count.
// Reviewed against PostgreSQL 18's source (varlena.c, oracle_compat.c, json.c, jsonb.c, arrayfuncs.c,
// regexp.c, encode.c): a position is listed only when no value there makes the function raise. The 1 GB
// value limit is the one exception we accept: reaching it needs a clean value of about that size next to
// the masked one (see the README's masking section).
const TOTAL: Readonly<Record<string, '*' | readonly number[]>> = {
  // text: length, case, trimming, hashing, searching, quoting
  length: '*', char_length: '*', character_length: '*', octet_length: '*', bit_length: '*',
  lower: '*', upper: '*', initcap: '*', casefold: '*', reverse: '*',
  btrim: '*', ltrim: '*', rtrim: '*', left: '*', right: '*',
  md5: '*', sha224: '*', sha256: '*', sha384: '*', sha512: '*', crc32: '*', crc32c: '*', hashtext: '*', hashtextextended: '*',
  strpos: '*', position: '*', starts_with: '*', replace: '*', translate: '*',
  concat: '*', concat_ws: '*', quote_ident: '*', quote_literal: '*', quote_nullable: '*',
  ascii: '*', to_hex: '*', to_oct: '*', to_bin: '*', text: '*', varchar: '*', bpchar: [1], name: '*',
  // a negative or huge position/length raises: those arguments must be clean
  substr: [1], substring: [1], split_part: [1, 2], overlay: [1, 2], lpad: [1, 3], rpad: [1, 3],
  // a pattern or flags that do not compile raise: only the subject (and the replacement) may be masked
  // (string_to_array and regexp_split_to_array are not here: an array whose shape follows the value, empty or
  // not, long or short, makes array concatenation and construction fail or not on it.)
  regexp_replace: [1], regexp_match: [1], regexp_like: [1], regexp_count: [1], regexp_substr: [1], regexp_instr: [1],
  array_to_string: '*', encode: [1], normalize: [1], is_normalized: [1],
  // JSON construction and navigation
  to_json: '*', to_jsonb: '*', row_to_json: '*', array_to_json: '*', json_build_object: '*', jsonb_build_object: '*',
  json_build_array: '*', jsonb_build_array: '*', json_strip_nulls: '*', jsonb_strip_nulls: '*', jsonb_pretty: '*',
  json_typeof: '*', jsonb_typeof: '*', json_extract_path: '*', jsonb_extract_path: '*', json_extract_path_text: '*',
  jsonb_extract_path_text: '*', jsonb_concat: '*', jsonb_contains: '*', jsonb_exists: '*',
  // (jsonb_set, jsonb_set_lax, jsonb_insert raise on a scalar target or a path into an array that is no integer.)
  // aggregates and window functions that only collect or compare
  count: '*', min: '*', max: '*', any_value: '*', every: '*', bool_and: '*', bool_or: '*', string_agg: '*',
  array_agg: '*', json_agg: '*', jsonb_agg: '*', json_agg_strict: '*', jsonb_agg_strict: '*',
  json_object_agg: '*', jsonb_object_agg: '*', json_object_agg_strict: '*', jsonb_object_agg_strict: '*',
  row_number: '*', rank: '*', dense_rank: '*', percent_rank: '*', cume_dist: '*', first_value: '*', last_value: '*',
  lag: [1, 3], lead: [1, 3], nth_value: [1],
  // arrays and other values, read without failing
  array_length: '*', cardinality: '*', array_position: '*', num_nulls: '*', num_nonnulls: '*',
  pg_typeof: '*', pg_column_size: '*', date_trunc: [2], date_part: [2], extract: [2],
};

// Reviewed: arguments kept or sent outside the result.
const SINKS = new Set(`
  set_config pg_notify nextval setval currval lastval pg_sleep pg_sleep_for pg_sleep_until
  pg_advisory_lock pg_advisory_lock_shared pg_advisory_unlock pg_advisory_unlock_shared pg_advisory_unlock_all
  pg_advisory_xact_lock pg_advisory_xact_lock_shared pg_try_advisory_lock pg_try_advisory_lock_shared
  pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared pg_cancel_backend pg_terminate_backend
  pg_logical_emit_message txid_current pg_current_xact_id pg_stat_reset pg_stat_clear_snapshot setseed
`.split(/\s+/).filter(Boolean));

// Reviewed: stable functions that are stable only because their output follows a session setting (TimeZone,
// DateStyle, the database encoding, the text search configuration): they compute from their arguments.
const SETTING_DEPENDENT = new Set(`
  age date date_add date_subtract date_part date_trunc extract make_timestamptz overlaps time timestamp
  timestamptz timetz timezone to_char to_date to_timestamp to_number numeric money concat concat_ws format length
  quote_literal quote_nullable to_json to_jsonb row_to_json array_to_json json_build_array json_build_object
  jsonb_build_array jsonb_build_object json_agg json_agg_strict json_object_agg json_object_agg_strict
  json_object_agg_unique json_object_agg_unique_strict jsonb_agg jsonb_agg_strict anytextcat textanycat convert
  convert_from convert_to to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_headline
  xml xml_is_well_formed generate_series regclass json_populate_record json_populate_recordset json_to_record
  json_to_recordset jsonb_populate_record jsonb_populate_recordset jsonb_populate_record_valid jsonb_to_record
  jsonb_to_recordset jsonb_path_exists_tz jsonb_path_match_tz jsonb_path_query_array_tz jsonb_path_query_first_tz
  jsonb_path_query_tz pg_input_is_valid pg_input_error_info json_to_tsvector jsonb_to_tsvector
`.split(/\s+/).filter(Boolean));

// Reviewed: stable or volatile functions whose result comes from the system catalogs, settings, the clock or
// a random source, never from a user table's rows. Anything stable or volatile not listed here counts as
// possibly reading data (query_to_xml, ts_stat, lo_get, pg_read_file, pg_stat_get_activity's query texts...).
const CATALOG = new Set(`
  now clock_timestamp statement_timestamp transaction_timestamp timeofday random random_normal gen_random_uuid
  uuidv4 uuidv7 current_setting version current_database current_schema current_schemas current_user
  session_user system_user pg_backend_pid inet_client_addr inet_client_port inet_server_addr
  inet_server_port pg_postmaster_start_time pg_conf_load_time pg_is_in_recovery txid_current_if_assigned
  pg_current_xact_id_if_assigned pg_my_temp_schema pg_is_other_temp_schema pg_trigger_depth pg_jit_available
  format_type pg_get_viewdef pg_get_indexdef pg_get_constraintdef pg_get_functiondef pg_get_triggerdef
  pg_get_ruledef pg_get_expr pg_get_userbyid pg_get_serial_sequence pg_get_function_arguments
  pg_get_function_result pg_get_function_identity_arguments pg_get_function_arg_default pg_get_function_sqlbody
  pg_get_partkeydef pg_get_partition_constraintdef pg_get_statisticsobjdef pg_get_statisticsobjdef_columns
  pg_get_statisticsobjdef_expressions pg_get_replica_identity_index pg_get_keywords pg_get_catalog_foreign_keys
  pg_partition_ancestors pg_partition_tree pg_partition_root pg_relation_is_publishable pg_tablespace_location
  pg_encoding_to_char pg_char_to_encoding pg_client_encoding pg_collation_for pg_collation_is_visible
  pg_conversion_is_visible pg_function_is_visible pg_opclass_is_visible pg_operator_is_visible
  pg_opfamily_is_visible pg_statistics_obj_is_visible pg_table_is_visible pg_ts_config_is_visible
  pg_ts_dict_is_visible pg_ts_parser_is_visible pg_ts_template_is_visible pg_type_is_visible
  obj_description col_description shobj_description has_any_column_privilege has_column_privilege
  has_database_privilege has_foreign_data_wrapper_privilege has_function_privilege has_language_privilege
  has_largeobject_privilege has_parameter_privilege has_schema_privilege has_sequence_privilege
  has_server_privilege has_table_privilege has_tablespace_privilege has_type_privilege pg_has_role
  pg_size_pretty pg_size_bytes pg_relation_size pg_total_relation_size pg_table_size pg_indexes_size
  pg_database_size pg_tablespace_size pg_relation_filenode pg_relation_filepath pg_column_compression
  to_regclass to_regtype to_regtypemod to_regproc to_regprocedure to_regoper to_regoperator to_regnamespace
  to_regrole to_regcollation pg_get_object_address pg_identify_object pg_identify_object_as_address
  pg_describe_object pg_index_column_has_property pg_index_has_property pg_indexam_has_property
  pg_options_to_table pg_sequence_parameters pg_settings_get_flags pg_get_publication_tables
  array_to_string pg_typeof pg_column_size pg_basetype oidvectortypes pg_column_is_updatable pg_show_all_settings
  pg_relation_is_updatable row_security_active enum_first enum_last enum_range getdatabaseencoding getpgusername
  pg_get_acl pg_available_extensions pg_available_extension_versions pg_extension_update_paths pg_timezone_names
  pg_timezone_abbrevs get_current_ts_config txid_current_snapshot pg_current_snapshot mxid_age
  array_sample array_shuffle
`.split(/\s+/).filter(Boolean));

/**
 * The class of the function a call names by its parts as written (['pg_catalog', 'upper']). A name that a
 * schema other than pg_catalog qualifies, or that pg_catalog lacks, is a user function: its result may carry
 * data it read, and nothing about its arguments is known.
 */
export function classifyFunction(parts: readonly string[]): FunctionClass {
  const name = parts[parts.length - 1] ?? '';
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const facts = schema === undefined || schema === 'pg_catalog' ? pgFunctionFacts(name) : undefined;
  if (!facts) return { name: parts.join('.'), facts: undefined, result: 'data', sink: false, setReturning: false };
  const sink = SINKS.has(name);
  const result: ResultSource =
    facts.volatility === 'immutable' || sink || SETTING_DEPENDENT.has(name) ? 'arguments' : CATALOG.has(name) ? 'catalog' : 'data';
  return { name, facts, result, sink, setReturning: facts.setReturning };
}

/**
 * Whether argument `index` (0-based) of a call to `fn` may carry protected data: the function never raises on
 * any value there. `args` are the call's argument nodes, for the two rules that depend on them.
 */
export function mayTakeProtectedArg(fn: FunctionClass, index: number, args: readonly unknown[]): boolean {
  if (!fn.facts || fn.sink || fn.setReturning) return false;
  if (fn.name === 'format') return index > 0 && formatIsPlain(args[0]);
  // array_agg of arrays raises when their dimensions differ or one is empty: only scalars are collected safely.
  if (fn.name === 'array_agg' && evidentlyArray(args[index])) return false;
  const total = TOTAL[fn.name];
  if (total === '*') return true;
  // name => value arguments have no position to check against the review
  if (unwrap(args[index])?.[0] === 'NamedArgExpr') return fn.facts.leakproof;
  if (total) return total.includes(index + 1);
  return fn.facts.leakproof;
}

/** format() with a literal format string and no `*` (a width taken from an argument raises on huge values). */
function formatIsPlain(node: unknown): boolean {
  const w = unwrap(node);
  const text = w?.[0] === 'A_Const' ? constantText(node) : undefined;
  return typeof text === 'string' && !text.includes('*');
}

/** An expression that is an array by its syntax or by the return type of the function it calls. */
export function evidentlyArray(node: unknown): boolean {
  const w = unwrap(node);
  if (!w) return false;
  const [type, b] = w;
  if (type === 'A_ArrayExpr') return true;
  if (type === 'SubLink') return b.subLinkType === 'ARRAY_SUBLINK';
  if (type === 'TypeCast') return list(isObject(b.typeName) ? b.typeName.arrayBounds : undefined).length > 0;
  if (type === 'FuncCall') return returnTypes(b.funcname).some((t) => t.endsWith('[]') || t === 'anyarray');
  return false;
}

/** An expression whose type is json or jsonb by the function it calls or the operator that makes it. */
export function evidentlyJson(node: unknown): boolean {
  const w = unwrap(node);
  if (!w) return false;
  const [type, b] = w;
  if (type === 'FuncCall') {
    const types = returnTypes(b.funcname);
    return types.length > 0 && types.every((t) => t === 'json' || t === 'jsonb');
  }
  if (type === 'A_Expr' && b.kind === 'AEXPR_OP') {
    const op = nameParts(b.name).at(-1);
    return op === '->' || op === '#>' || ((op === '-' || op === '||' || op === '#-') && evidentlyJson(b.lexpr));
  }
  return false;
}

function returnTypes(funcname: unknown): readonly string[] {
  return classifyFunction(nameParts(funcname)).facts?.returns ?? [];
}

// Operators. Comparisons, concatenation and JSON/array navigation and containment never raise on values
// (NULL aside); arithmetic can (overflow, division by zero, out of range), and so can a pattern that does not
// compile. The left operand of a pattern match may be protected when the pattern itself is not.
const TOTAL_OPERATORS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '||', '->', '->>', '#>', '#>>', '?', '?|', '?&', '@>', '<@', '&&']);
const REGEX_OPERATORS = new Set(['~', '~*', '!~', '!~*']);
const LIKE_OPERATORS = new Set(['~~', '~~*', '!~~', '!~~*']);

/** Whether the `side` operand of an operator expression (an A_Expr body) may carry protected data. */
export function operandMayBeProtected(b: Record<string, unknown>, side: 'lexpr' | 'rexpr'): boolean {
  const op = nameParts(b.name).at(-1) ?? '';
  switch (b.kind) {
    case 'AEXPR_DISTINCT':
    case 'AEXPR_NOT_DISTINCT':
    case 'AEXPR_NULLIF':
    case 'AEXPR_IN':
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN':
    case 'AEXPR_BETWEEN_SYM':
    case 'AEXPR_NOT_BETWEEN_SYM':
      return true;
    case 'AEXPR_OP_ANY':
    case 'AEXPR_OP_ALL':
      return TOTAL_OPERATORS.has(op);
    // LIKE 'abc\' raises only once the match reaches the trailing escape: an oracle on the subject.
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE':
      return side === 'lexpr' && plainLikePattern(b.rexpr);
    case 'AEXPR_SIMILAR':
      return side === 'lexpr';
    case 'AEXPR_OP':
      if (b.lexpr === undefined) return false; // prefix operators: -x, @x, ~x, |/x
      if (TOTAL_OPERATORS.has(op)) return true;
      if (REGEX_OPERATORS.has(op)) return side === 'lexpr';
      if (LIKE_OPERATORS.has(op)) return side === 'lexpr' && plainLikePattern(b.rexpr);
      // jsonb - key deletes a key; on numbers, dates and intervals `-` can overflow
      if (op === '-') return evidentlyJson(b.lexpr);
      return false;
    default:
      return false;
  }
}

function plainLikePattern(node: unknown): boolean {
  if (unwrap(node)?.[0] !== 'A_Const') return false;
  const text = constantText(node);
  if (typeof text !== 'string') return false;
  let escapes = 0;
  for (let i = text.length - 1; i >= 0 && text[i] === '\\'; i--) escapes++;
  return escapes % 2 === 0;
}

/** The reviewed lists, for the tests that hold them against pg_proc. */
export function reviewedFunctionLists(): { total: readonly string[]; sinks: readonly string[]; catalog: readonly string[]; settingDependent: readonly string[] } {
  return { total: Object.keys(TOTAL), sinks: [...SINKS], catalog: [...CATALOG], settingDependent: [...SETTING_DEPENDENT] };
}
