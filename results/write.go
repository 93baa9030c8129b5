package results

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/duck"
)

// Formats a run's tables can be written in.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
)

// Written describes one written table file.
type Written struct {
	Table string `json:"table"`
	File  string `json:"file"`
	Rows  int64  `json:"rows"`
}

// Write writes every table into dir as <table>.parquet or <table>.csv in the
// SPEC section 5 form: CSV with one header row, dates YYYY-MM-DD, booleans
// true/false, NULL as an empty field and floats in shortest round-trip form,
// rows in the SPEC's sort order (the tables stream in that order). Both
// formats are written by Go on as many cores as db may use (parquet.go,
// csv.go); db writes a CSV table holding a value only DuckDB spells right.
func Write(ctx context.Context, db *duck.DB, tables []*Table, dir, format string) ([]Written, error) {
	if format != FormatParquet && format != FormatCSV {
		return nil, fmt.Errorf("unknown output format %q: use parquet or csv", format)
	}
	if err := os.MkdirAll(dir, atomicfs.DirPerm); err != nil {
		return nil, fmt.Errorf("create output folder: %w", err)
	}
	// A table's file is flushed to disk and published (atomicfs's Commit:
	// fsync, rename, the folder's fsync) while the next tables are encoded:
	// the fsync of the boxes, the largest, took 15-20 ms of a medium job on
	// one core doing nothing else. Every file is published before Write
	// returns, as before.
	var commits sync.WaitGroup
	errs := make([]error, len(tables))
	defer commits.Wait() // on an early return too: no commit outlives Write
	var out []Written
	for i, t := range tables {
		file := filepath.Join(dir, t.Name+"."+format)
		commit := func(f *atomicfs.File) error {
			commits.Go(func() { errs[i] = f.Commit() })
			return nil
		}
		if err := writeTable(ctx, db, t, file, format, commit); err != nil {
			return nil, err
		}
		out = append(out, Written{Table: t.Name, File: filepath.Base(file), Rows: t.Rows})
	}
	commits.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// commitFile publishes f, written whole, with commit (nil: f.Commit).
func commitFile(f *atomicfs.File, commit func(*atomicfs.File) error) error {
	if commit == nil {
		return f.Commit()
	}
	return commit(f)
}

// writeTable writes t into file in format; the Go writers hand the written
// file to commit, which publishes it.
func writeTable(ctx context.Context, db *duck.DB, t *Table, file, format string, commit func(*atomicfs.File) error) error {
	if format == FormatParquet {
		return writeParquet(ctx, t, file, db.Threads(), commit)
	}
	if csvSupported(t) {
		err := writeCSV(ctx, t, file, db.Threads(), commit)
		if !errors.Is(err, errUnsupported) {
			return err
		}
		// A value only DuckDB spells right: write the table with it.
	}
	opts, _ := copyOptions(FormatCSV)
	return copyWithDuckDB(ctx, db, t, file, opts)
}

// copyWithDuckDB writes t into file with DuckDB's COPY ... TO and options
// opts, through a temporary file published at the end.
func copyWithDuckDB(ctx context.Context, db *duck.DB, t *Table, file, opts string) error {
	tmp := atomicfs.TempPath(file)
	view := "__out_" + t.Name
	sel := "SELECT "
	for i, f := range t.Schema.Fields() {
		if i > 0 {
			sel += ", "
		}
		sel += fmt.Sprintf("%s::%s AS %s", duck.Ident(f.Name), t.SQLType[i], duck.Ident(f.Name))
	}
	sel += " FROM " + duck.Ident(view)
	rr := t.reader(db.Threads())
	err := db.ExecWithArrow(ctx, view, rr, fmt.Sprintf("COPY (%s) TO %s %s", sel, duck.Quote(tmp), opts))
	rr.Release()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := atomicfs.Publish(tmp, file); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// CopyFiles copies the table files a Write put into from into the folder to
// (each through a temporary file published at the end) and returns their
// descriptions there: the tables of a run in the same format need not be
// encoded twice.
func CopyFiles(files []Written, from, to string) ([]Written, error) {
	for _, w := range files {
		if err := copyFile(filepath.Join(from, w.File), filepath.Join(to, w.File)); err != nil {
			return nil, err
		}
	}
	return slices.Clone(files), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	out, err := atomicfs.Create(dst)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return out.Commit()
}
