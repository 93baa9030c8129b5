package duck

import (
	"errors"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// ErrorType returns DuckDB's class of err (Catalog, Permission, IO, Out of
// Memory, ...) when err is or wraps an error DuckDB raised: the driver's
// *duckdb.Error or a streamed query's *StreamError. Callers decide by this
// type, never by the wording of the message, which DuckDB may change.
func ErrorType(err error) (duckdb.ErrorType, bool) {
	var de *duckdb.Error
	if errors.As(err, &de) {
		return de.Type, true
	}
	var se *StreamError
	if errors.As(err, &se) {
		return se.Type, true
	}
	return duckdb.ErrorTypeInvalid, false
}

// IsType reports whether err is a DuckDB error of class t.
func IsType(err error, t duckdb.ErrorType) bool {
	got, ok := ErrorType(err)
	return ok && got == t
}

// IsCatalog reports a DuckDB Catalog Error: a table, view, schema or
// function that does not exist (or already does).
func IsCatalog(err error) bool { return IsType(err, duckdb.ErrorTypeCatalog) }

// IsPermission reports a DuckDB Permission Error: the session's settings
// forbid what the statement does (a file outside allowed_directories, an
// extension while they are disabled).
func IsPermission(err error) bool { return IsType(err, duckdb.ErrorTypePermission) }

// IsOutOfMemory reports a DuckDB Out of Memory Error: the query needed more
// memory, or temporary disk, than the limits allow.
func IsOutOfMemory(err error) bool { return IsType(err, duckdb.ErrorTypeOutOfMemory) }

// IsDiskFull reports a DuckDB error raised because the file system it wrote
// to is full (or the user's quota is spent). DuckDB reports it in several
// classes (IO, TransactionContext when a commit fails, FATAL when a
// checkpoint does) and without an errno, so for a DuckDB error the operating
// system's own words decide.
func IsDiskFull(err error) bool {
	if _, ok := ErrorType(err); !ok {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "no space left on device") || strings.Contains(msg, "disk quota exceeded")
}

// messageType is the class a DuckDB message names in its prefix
// ("Catalog Error: ..."). The C API returns a prepared statement's and a
// pending result's error as text alone; the driver classifies those the same
// way (getDuckDBError), so a streamed query's errors carry the class a
// database/sql query's would. Only the classes assign decides on are listed;
// the rest are ErrorTypeInvalid, as the driver's unknown prefixes are.
func messageType(msg string) duckdb.ErrorType {
	prefix, _, ok := strings.Cut(msg, ": ")
	if !ok {
		return duckdb.ErrorTypeInvalid
	}
	switch prefix {
	case "Catalog Error":
		return duckdb.ErrorTypeCatalog
	case "Binder Error":
		return duckdb.ErrorTypeBinder
	case "Parser Error":
		return duckdb.ErrorTypeParser
	case "Permission Error":
		return duckdb.ErrorTypePermission
	case "IO Error":
		return duckdb.ErrorTypeIO
	case "Out of Memory Error":
		return duckdb.ErrorTypeOutOfMemory
	case "INTERRUPT Error":
		return duckdb.ErrorTypeInterrupt
	}
	return duckdb.ErrorTypeInvalid
}
