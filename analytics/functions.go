package analytics

import (
	_ "embed"
	"sort"
	"strings"
)

// What user SQL may call. Every function DuckDB knows is either allowed
// here or refused: the lists below were reviewed against DuckDB 1.4's
// duckdb_functions(), and TestEveryDuckDBFunctionIsReviewed fails when a
// DuckDB upgrade brings a function nobody looked at (it is refused until
// it is added to one of the lists). A name DuckDB does not know is left to
// DuckDB's binder, which fails on it (with its "did you mean" hint).

// allowedTableFunctions may appear in FROM. They only read: the
// snapshot's catalog, series, or files, whose paths DuckDB's
// allowed_directories and checkPaths limit to the runs folder.
var allowedTableFunctions = setOf(
	// series and lists
	"range", "generate_series", "unnest", "repeat", "repeat_row",
	// files under the home's runs folder (paths checked)
	"glob", "read_parquet", "parquet_scan", "read_csv", "read_csv_auto",
	"read_json", "read_json_auto", "read_json_objects", "read_json_objects_auto",
	"read_ndjson", "read_ndjson_auto", "read_ndjson_objects", "read_text", "read_blob",
	"sniff_csv", "parquet_metadata", "parquet_schema", "parquet_file_metadata",
	"parquet_kv_metadata", "parquet_bloom_probe",
	// JSON values
	"json_each", "json_tree",
	// the catalog and the session
	"duckdb_columns", "duckdb_constraints", "duckdb_databases", "duckdb_dependencies",
	"duckdb_functions", "duckdb_indexes", "duckdb_keywords", "duckdb_schemas",
	"duckdb_sequences", "duckdb_tables", "duckdb_types", "duckdb_views",
	"duckdb_settings", "duckdb_extensions", "duckdb_optimizers", "duckdb_memory",
	"duckdb_temporary_files", "duckdb_variables",
	"pragma_table_info", "pragma_show", "pragma_collations", "pragma_database_size",
	"pragma_version", "pragma_platform", "pragma_storage_info", "pragma_metadata_info",
	"pragma_user_agent", "icu_calendar_names", "pg_timezone_names", "summary",
)

// refusedTableFunctions have side effects, run SQL given as text (which
// would bypass this check), take raw memory pointers, or serve no analyst.
var refusedTableFunctions = map[string]string{
	"enable_logging":               "it writes log files",
	"disable_logging":              "it changes the session's logging",
	"truncate_duckdb_logs":         "it deletes logs",
	"checkpoint":                   "it writes the database",
	"force_checkpoint":             "it writes the database",
	"query":                        "it runs SQL given as text",
	"query_table":                  "it reads tables named as text",
	"json_execute_serialized_sql":  "it runs SQL given as text",
	"arrow_scan":                   "it reads raw memory",
	"arrow_scan_dumb":              "it reads raw memory",
	"seq_scan":                     "it is internal",
	"duckdb_logs":                  "it is internal",
	"duckdb_logs_parsed":           "it is internal",
	"duckdb_log_contexts":          "it is internal",
	"duckdb_secrets":               "it is about credentials",
	"duckdb_secret_types":          "it is about credentials",
	"which_secret":                 "it is about credentials",
	"duckdb_prepared_statements":   "it is internal",
	"duckdb_connection_count":      "it is internal",
	"duckdb_approx_database_count": "it is internal",
	"duckdb_external_file_cache":   "it is internal",
	"duckdb_table_sample":          "it is internal",
	"check_peg_parser":             "it is internal",
	"sql_auto_complete":            "it is internal",
	"test_all_types":               "it is for DuckDB's tests",
	"test_vector_types":            "it is for DuckDB's tests",
	"histogram":                    "it reads tables named as text; use the histogram() aggregate",
	"histogram_values":             "it reads tables named as text",
}

// refusedScalarFunctions have side effects, parse or bind SQL given as
// text, or are DuckDB internals that trust their input.
var refusedScalarFunctions = map[string]string{
	"write_log":           "it writes to the log",
	"nextval":             "it changes a sequence",
	"currval":             "it reads a sequence's session state",
	"setseed":             "it changes the session's random seed",
	"json_serialize_plan": "it binds SQL given as text",
}

// windowFunctions are names the parser gives window expressions; DuckDB
// lists some of them nowhere else.
var windowFunctions = setOf("row_number", "rank", "dense_rank", "rank_dense", "percent_rank",
	"cume_dist", "ntile", "lag", "lead", "first_value", "last_value", "nth_value", "fill")

// allowedPragmas are the PRAGMA statements that only read (each becomes a
// query on the catalog).
var allowedPragmas = setOf("table_info", "show", "show_tables", "show_tables_expanded",
	"show_databases", "database_list", "database_size", "version", "platform",
	"functions", "collations", "storage_info", "metadata_info", "user_agent")

//go:embed allowed_functions.txt
var allowedFunctionsText string

// allowedFunctions are the scalar, aggregate and macro functions user SQL
// may call: allowed_functions.txt, one name a line, reviewed against
// DuckDB's list (operators like + are functions too).
var allowedFunctions = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(allowedFunctionsText, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = true
		}
	}
	for n := range windowFunctions {
		m[n] = true
	}
	return m
}()

// functionVerdict says whether name may be called in a table position
// (FROM) or as an expression, and why not. known reports whether DuckDB
// has a function of that name at all.
func functionVerdict(name string, table bool, known func(string) bool) (ok bool, why string) {
	n := strings.ToLower(name)
	if table {
		if allowedTableFunctions[n] {
			return true, ""
		}
		if why, refused := refusedTableFunctions[n]; refused {
			return false, why
		}
	} else {
		if allowedFunctions[n] {
			return true, ""
		}
		if why, refused := refusedScalarFunctions[n]; refused {
			return false, why
		}
		if strings.HasPrefix(n, "__internal") {
			return false, "it is internal"
		}
	}
	if known(n) {
		return false, "it is not on assign query's list of functions that only read"
	}
	return true, "" // unknown: DuckDB's binder reports it
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
