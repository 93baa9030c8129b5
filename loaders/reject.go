package loaders

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"

	"github.com/assign-dev/assign/atomicfs"
)

// RejectHeader is the header row of a reject file. One line per violation:
// a row breaking two rules appears twice. line is set for CSV and JSONL
// sources, row for Parquet and Arrow; raw is the whole source row as JSON.
// For a database source, file is the source table (or query) and key its
// primary key ("primary key id=17"), or row its place in read order when
// it has none.
var RejectHeader = []string{"table", "file", "line", "row", "column", "value", "rule", "raw", "key"}

// rejectWriter writes the reject file beside its final path and renames it
// into place only when the load succeeds, so a failed load leaves no file
// that looks complete.
type rejectWriter struct {
	path string
	f    *atomicfs.File
	w    *csv.Writer
}

func newRejectWriter(path string) (*rejectWriter, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("reject file %s is a folder: give a file path", path)
	}
	f, err := atomicfs.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create reject file %s: %w", path, unwrapPath(err))
	}
	w := csv.NewWriter(f)
	if err := w.Write(RejectHeader); err != nil {
		f.Abort()
		return nil, fmt.Errorf("write reject file %s: %w", path, err)
	}
	return &rejectWriter{path: path, f: f, w: w}, nil
}

func (r *rejectWriter) write(v Violation) error {
	num := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	return r.w.Write([]string{v.Table, v.File, num(v.Line), num(v.Row), v.Column, v.Value, v.Rule, v.Raw, v.Key})
}

func (r *rejectWriter) commit() error {
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		r.abort()
		return fmt.Errorf("write reject file %s: %w", r.path, err)
	}
	if err := r.f.Commit(); err != nil {
		return fmt.Errorf("write reject file %s: %w", r.path, unwrapPath(err))
	}
	return nil
}

func (r *rejectWriter) abort() { r.f.Abort() }
