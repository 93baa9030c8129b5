package duck

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// DamagedError is a database file DuckDB cannot read because its bytes are
// wrong: cut short, overwritten, or not a DuckDB file at all. Reading it
// again will not help; the file must be replaced.
type DamagedError struct {
	Path string
	// Damage says what is wrong in a few words ("cut short").
	Damage string
	Err    error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("database file %s is damaged (%s)", e.Path, e.Damage)
}
func (e *DamagedError) Unwrap() error { return e.Err }

// damageOf says what DuckDB's error means when it reports a damaged file:
// an I/O error (by the driver's error type) with one of the storage
// layer's messages. ok is false for every other error, an I/O error of the
// operating system included (a permission, a missing file, a full disk).
func damageOf(err error) (damage string, ok bool) {
	var de *duckdb.Error
	if !errors.As(err, &de) || de.Type != duckdb.ErrorTypeIO {
		return "", false
	}
	msg := de.Msg
	switch {
	case strings.Contains(msg, "Could not read enough bytes"):
		return "cut short", true
	case strings.Contains(msg, "not a valid DuckDB database file"):
		return "not a DuckDB database file", true
	case strings.Contains(msg, "Corrupt database file"), strings.Contains(msg, "checksum"):
		return "a block does not match its checksum", true
	}
	return "", false
}

// Damaged wraps err in a DamagedError naming path when err reports a damaged
// database file, and returns it unchanged otherwise.
func Damaged(path string, err error) error {
	if err == nil {
		return nil
	}
	var de *DamagedError
	if errors.As(err, &de) {
		return err
	}
	if damage, ok := damageOf(err); ok {
		return &DamagedError{Path: path, Damage: damage, Err: err}
	}
	return err
}

// fileInMessage finds the file a DuckDB storage message names
// ('... from file "/x/y.duckdb": ...').
var fileInMessage = regexp.MustCompile(`file "([^"]+)"`)

// AsDamaged finds a damaged-file error in err's chain: a DamagedError, or
// DuckDB's own report of one, whose file is then taken from its message
// (empty when the message names none).
func AsDamaged(err error) (*DamagedError, bool) {
	var de *DamagedError
	if errors.As(err, &de) {
		return de, true
	}
	damage, ok := damageOf(err)
	if !ok {
		return nil, false
	}
	path := ""
	if m := fileInMessage.FindStringSubmatch(err.Error()); m != nil {
		path = m[1]
	}
	return &DamagedError{Path: path, Damage: damage, Err: err}, true
}

// Path is the snapshot file a handle from OpenSnapshot reads ("" for other
// handles).
func (d *DB) Path() string { return d.path }

// readable reports whether the file at path can be opened for reading, so
// that an error opening it is about its content, not its access.
func readable(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
