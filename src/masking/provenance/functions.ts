// What a function does with masked data, by name. Three kinds:
// - transparent: the result derives only from the arguments, nothing is stored or sent anywhere, and no error
//   it raises quotes an argument. Masked data may flow through; the result is masked as a whole.
// - parser: as transparent, but it parses its input and its errors quote what it could not parse (to_date,
//   int4(text), jsonpath, XML): a masked value would show in the error message, so masked data must not reach it.
// - sink: the result does not come from table data, but the arguments go somewhere (a setting, a sequence, a
//   notification, a lock, a delay that can be timed). Masked data must not reach them.
// - unknown: anything else, user functions above all. The result may hold masked data read inside the
//   function (masked or refused as of unknown origin), and masked data must not reach the arguments.

export type FunctionKind = 'transparent' | 'parser' | 'sink' | 'unknown';

const TRANSPARENT = new Set(
  `
  length char_length character_length octet_length bit_length lower upper initcap casefold substr substring left right
  lpad rpad ltrim rtrim btrim trim reverse repeat replace translate concat concat_ws format md5 sha224 sha256 sha384
  sha512 crc32 crc32c encode position strpos split_part string_to_array string_to_table array_to_string
  regexp_replace regexp_match regexp_matches regexp_split_to_array regexp_split_to_table regexp_count regexp_instr
  regexp_like regexp_substr starts_with overlay quote_ident quote_literal quote_nullable ascii chr to_hex to_oct
  to_bin to_char normalize is_normalized textcat text varchar bpchar name hashtext hashtextextended get_byte
  get_bit bit_count
  abs ceil ceiling floor round trunc sign sqrt cbrt exp ln log log10 power pow mod div pi degrees radians sin cos
  tan asin acos atan atan2 sind cosd tand sinh cosh tanh width_bucket scale min_scale trim_scale gcd lcm factorial
  random random_normal setseed
  now clock_timestamp statement_timestamp transaction_timestamp timeofday date_trunc date_part extract age
  date_bin date_add date_subtract isfinite justify_days justify_hours justify_interval timezone overlaps
  pg_collation_for similar_to_escape like_escape system_user ts_rank ts_rank_cd ts_headline
  to_json to_jsonb row_to_json array_to_json json_build_object jsonb_build_object json_build_array
  jsonb_build_array json_agg jsonb_agg json_agg_strict jsonb_agg_strict json_object_agg jsonb_object_agg
  json_object_agg_strict jsonb_object_agg_strict json_object_agg_unique jsonb_object_agg_unique
  json_object_agg_unique_strict jsonb_object_agg_unique_strict jsonb_set jsonb_set_lax jsonb_insert
  jsonb_strip_nulls json_strip_nulls jsonb_pretty json_typeof jsonb_typeof json_array_length jsonb_array_length
  json_each jsonb_each json_each_text jsonb_each_text json_array_elements jsonb_array_elements
  json_array_elements_text jsonb_array_elements_text json_object_keys jsonb_object_keys json_extract_path
  jsonb_extract_path json_extract_path_text jsonb_extract_path_text jsonb_concat jsonb_contains jsonb_exists
  array_agg array_append array_prepend array_cat array_length array_lower array_upper array_ndims array_dims
  array_position array_positions array_remove array_replace cardinality unnest array_fill array_reverse
  array_sort array_shuffle array_sample trim_array generate_series generate_subscripts
  count sum avg min max string_agg bool_and bool_or every bit_and bit_or bit_xor stddev stddev_pop stddev_samp
  variance var_pop var_samp corr covar_pop covar_samp regr_avgx regr_avgy regr_count regr_intercept regr_r2
  regr_slope regr_sxx regr_sxy regr_syy mode percentile_cont percentile_disc any_value xmlagg range_agg
  range_intersect_agg
  row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
  num_nulls num_nonnulls pg_typeof pg_column_size pg_column_compression gen_random_uuid uuidv4 uuidv7
  uuid_extract_timestamp uuid_extract_version current_setting version current_database current_schema
  current_schemas pg_backend_pid inet_client_addr inet_client_port inet_server_addr inet_server_port
  pg_postmaster_start_time pg_conf_load_time format_type pg_get_viewdef pg_get_indexdef pg_get_constraintdef
  pg_get_functiondef pg_get_triggerdef pg_get_ruledef pg_get_expr pg_get_userbyid pg_get_serial_sequence
  obj_description col_description shobj_description has_table_privilege has_column_privilege
  has_schema_privilege has_database_privilege has_function_privilege has_sequence_privilege pg_has_role
  pg_table_is_visible pg_size_pretty pg_size_bytes pg_relation_size pg_total_relation_size pg_table_size
  pg_indexes_size pg_database_size to_regclass to_regtype to_regproc to_regnamespace to_regrole
  pg_is_in_recovery txid_current_if_assigned pg_current_xact_id_if_assigned
  host hostmask masklen netmask network broadcast family abbrev set_masklen inet_merge inet_same_family
  lower_inc upper_inc lower_inf upper_inf isempty range_merge
  `
    .split(/\s+/)
    .filter(Boolean),
);

const PARSERS = new Set(
  `
  to_date to_timestamp to_number decode convert_from convert_to convert parse_ident unistr bool int2 int4 int8
  float4 float8 numeric date time timetz timestamp timestamptz interval inet cidr macaddr macaddr8 uuid json jsonb
  xml xmlparse xpath xpath_exists xmlexists json_populate_record jsonb_populate_record json_populate_recordset
  jsonb_populate_recordset json_to_record jsonb_to_record json_to_recordset jsonb_to_recordset jsonb_path_query
  jsonb_path_query_array jsonb_path_query_first jsonb_path_exists jsonb_path_match make_date make_time
  make_timestamp make_timestamptz make_interval to_tsvector to_tsquery plainto_tsquery phraseto_tsquery
  websearch_to_tsquery regclass regtype regproc
  `
    .split(/\s+/)
    .filter(Boolean),
);

const SINKS = new Set(
  `
  set_config pg_notify nextval setval currval lastval pg_sleep pg_sleep_for pg_sleep_until
  pg_advisory_lock pg_advisory_lock_shared pg_advisory_unlock pg_advisory_unlock_shared pg_advisory_unlock_all
  pg_advisory_xact_lock pg_advisory_xact_lock_shared pg_try_advisory_lock pg_try_advisory_lock_shared
  pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared pg_cancel_backend pg_terminate_backend
  pg_logical_emit_message txid_current pg_current_xact_id pg_stat_reset pg_stat_clear_snapshot
  `
    .split(/\s+/)
    .filter(Boolean),
);

/**
 * The kind of a function named by its parts as written (['pg_catalog', 'upper']). Only functions of
 * pg_catalog are known; a schema-qualified name elsewhere is a user function whatever it is called.
 */
export function functionKind(parts: readonly string[]): FunctionKind {
  const lowered = parts.map((p) => p.toLowerCase());
  const name = lowered[lowered.length - 1] ?? '';
  const schema = lowered.length > 1 ? lowered[lowered.length - 2] : undefined;
  if (schema !== undefined && schema !== 'pg_catalog') return 'unknown';
  if (TRANSPARENT.has(name)) return 'transparent';
  if (PARSERS.has(name)) return 'parser';
  if (SINKS.has(name)) return 'sink';
  return 'unknown';
}

// Casts that cannot fail on any text, so their errors never quote a value. Anything else (integer, date, json,
// arrays, regclass) parses its input and says what it could not parse.
const TEXTUAL_TYPES = new Set(['text', 'varchar', 'bpchar', 'char', 'character', 'character varying', 'name', 'bytea', 'unknown', 'citext']);

export function isTextualCast(typeNames: readonly string[], isArray: boolean): boolean {
  if (isArray) return false;
  const name = (typeNames[typeNames.length - 1] ?? '').toLowerCase();
  return TEXTUAL_TYPES.has(name);
}

/** Catalogs that hold samples of column values (most common values, histograms): they read masked data back. */
export const STATISTICS_RELATIONS: ReadonlySet<string> = new Set([
  'pg_catalog.pg_stats',
  'pg_catalog.pg_statistic',
  'pg_catalog.pg_stats_ext',
  'pg_catalog.pg_stats_ext_exprs',
  'pg_catalog.pg_statistic_ext_data',
]);
