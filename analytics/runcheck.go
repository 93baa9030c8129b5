package analytics

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/store"
)

// runState is a run folder as the session found it: readable (ref), or
// damaged (problem says how).
type runState struct {
	info    store.RunInfo
	ref     *RunRef
	problem string
}

// inspectRun reads a run folder's manifest and checks its Parquet files
// without DuckDB: present, whole (a Parquet file starts and ends with
// PAR1, and its footer fits), and not symbolic links leading outside root
// (the runs folder, or the run folder itself when it lies elsewhere). A
// damaged file would otherwise fail every query, since the views are bound
// when the session opens.
func inspectRun(ri store.RunInfo, runsRoot string) runState {
	st := runState{info: ri}
	m, err := readManifest(ri.Dir)
	if err != nil {
		st.problem = err.Error()
		return st
	}
	root := runsRoot
	if real, err := filepath.EvalSymlinks(ri.Dir); err != nil || !within(runsRoot, real) {
		root = ri.Dir
		if err == nil {
			root = real
		}
	}
	mode := m.Mode
	if mode == "" {
		mode = ri.Mode
	}
	r := &RunRef{ID: ri.ID, Dir: ri.Dir, Mode: mode, Manifest: m}
	for _, t := range RunTables {
		// A table is t.parquet, or a folder t/ of Parquet files (one per
		// shard) in a merged run.
		path, ok := results.ParquetPath(ri.Dir, t)
		if !ok {
			continue
		}
		files := []string{path}
		if strings.ContainsRune(filepath.Base(path), '*') {
			files, _ = filepath.Glob(path)
		}
		for _, f := range files {
			if why := fileProblem(f, root); why != "" {
				rel, _ := filepath.Rel(ri.Dir, f)
				st.problem = rel + " " + why
				return st
			}
		}
		r.Tables = append(r.Tables, t)
	}
	if len(r.Tables) == 0 {
		st.problem = "it holds no Parquet tables (written with --no-save, or by another version)"
		return st
	}
	st.ref = r
	return st
}

func readManifest(dir string) (*plan.Manifest, error) {
	p := filepath.Join(dir, store.ManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read (%v)", store.ManifestFile, errors.Unwrap(err))
	}
	var m plan.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON (%v)", store.ManifestFile, err)
	}
	return &m, nil
}

// fileProblem says why f cannot be one of a run's tables: it leads (by a
// symbolic link, of the file or of a folder on its way) outside root, or it
// is not a whole Parquet file. "" when it is fine.
func fileProblem(f, root string) string {
	real, err := filepath.EvalSymlinks(f)
	if err != nil {
		return "is a broken symbolic link"
	}
	if !within(root, real) {
		return fmt.Sprintf("is a symbolic link to %s, outside the runs folder", real)
	}
	return parquetProblem(f)
}

var parquetMagic = []byte("PAR1")

// parquetProblem says why the file at p is not a whole Parquet file, or ""
// when its frame is sound.
func parquetProblem(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Sprintf("cannot be read (%v)", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("cannot be read (%v)", err)
	}
	if !fi.Mode().IsRegular() {
		return "is not a regular file"
	}
	size := fi.Size()
	if size < 12 {
		return fmt.Sprintf("is damaged: %d bytes, too short for a Parquet file", size)
	}
	head := make([]byte, 4)
	tail := make([]byte, 8)
	if _, err := io.ReadFull(f, head); err != nil {
		return fmt.Sprintf("cannot be read (%v)", err)
	}
	if _, err := f.ReadAt(tail, size-8); err != nil {
		return fmt.Sprintf("cannot be read (%v)", err)
	}
	if !bytes.Equal(head, parquetMagic) {
		return "is damaged: it does not start like a Parquet file"
	}
	if !bytes.Equal(tail[4:], parquetMagic) {
		return "is damaged: it does not end like a Parquet file (cut short?)"
	}
	if footer := int64(binary.LittleEndian.Uint32(tail[:4])); footer > size-12 {
		return "is damaged: its footer is longer than the file (cut short?)"
	}
	return ""
}

// maxDamagedWarnings is how many damaged runs get a warning line each.
const maxDamagedWarnings = 3

// warnDamaged adds one warning line per damaged run (the newest few).
func (s *Session) warnDamaged(states []runState) {
	var bad []runState
	for i := len(states) - 1; i >= 0; i-- {
		if states[i].problem != "" {
			bad = append(bad, states[i])
		}
	}
	for i, st := range bad {
		if i == maxDamagedWarnings {
			s.Warnings = append(s.Warnings, fmt.Sprintf("and %d more damaged runs: SELECT run_id, problem FROM runs WHERE problem IS NOT NULL", len(bad)-i))
			break
		}
		s.Warnings = append(s.Warnings, fmt.Sprintf("skipped run %s: %s; remove it (rm -r %s) or make it again", st.info.ID, st.problem, st.info.Dir))
	}
}

// RunDamage says, as an error of one line, why a run folder cannot be read
// (a manifest that is not JSON, a Parquet table cut short or not Parquet),
// so that commands reading a run (check, diff) name the run and what to do
// instead of printing the reader's error. It returns nil for a run that
// looks whole; a table the run does not hold is not its concern.
func RunDamage(ri store.RunInfo) error {
	why := ""
	if _, err := readManifest(ri.Dir); err != nil {
		why = err.Error()
	}
	for _, t := range RunTables {
		if why != "" {
			break
		}
		path, ok := results.ParquetPath(ri.Dir, t)
		if !ok {
			continue
		}
		files := []string{path}
		if strings.ContainsRune(filepath.Base(path), '*') {
			files, _ = filepath.Glob(path)
		}
		for _, f := range files {
			if p := parquetProblem(f); p != "" {
				rel, _ := filepath.Rel(ri.Dir, f)
				why = rel + " " + p
				break
			}
		}
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("run %s cannot be read: %s; remove it (rm -r %s) or make it again", ri.ID, why, ri.Dir)
}
