package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/assign-dev/assign/atomicfs"
)

// ManifestFile marks a folder of run tables as written by assign (the same
// name as a run folder's manifest).
const ManifestFile = "manifest.json"

// RunTables are the tables a run folder may hold, besides any table its
// manifest lists.
var RunTables = []string{"boxes", "demand", "snack_summary", "short_boxes", "picks"}

// ForeignOutputError is an output folder that holds something assign did
// not write. Writing a run's tables there would either mix two runs (the
// old tables beside the new) or delete the user's files, so it is refused.
type ForeignOutputError struct {
	Dir string
	// Entries are the first entries assign did not write (all of them when
	// the folder has no assign manifest).
	Entries []string
	// More is how many entries beyond Entries.
	More int
	// NoManifest is set when the folder has no run manifest at all.
	NoManifest bool
}

func (e *ForeignOutputError) Error() string {
	what := "'" + strings.Join(e.Entries, "', '") + "'"
	if e.More > 0 {
		what += fmt.Sprintf(" and %d more", e.More)
	}
	if e.NoManifest {
		return fmt.Sprintf("%s is not empty and was not written by assign (it holds %s): choose an empty or new folder, since the tables of a run replace the whole folder", e.Dir, what)
	}
	return fmt.Sprintf("%s holds %s, which assign did not write there: move it away or choose another folder, since the tables of a run replace the whole folder", e.Dir, what)
}

// CheckOutput reports whether dir may receive the tables of a run: it is
// missing, empty, or a folder assign wrote (a run manifest beside run
// tables, nothing else). Such a folder is replaced whole, so it never
// holds the tables of two runs.
func CheckOutput(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("output folder %s: %w", dir, err)
	case len(entries) == 0:
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	foreign := func(list []string, noManifest bool) error {
		const shown = 3
		e := &ForeignOutputError{Dir: dir, NoManifest: noManifest, Entries: list}
		if len(list) > shown {
			e.Entries, e.More = list[:shown], len(list)-shown
		}
		return e
	}
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	var m struct {
		RunID string    `json:"run_id"`
		Mode  string    `json:"mode"`
		Files []Written `json:"files"`
	}
	if err != nil || json.Unmarshal(b, &m) != nil || m.Mode == "" {
		return foreign(names, true)
	}
	known := map[string]bool{ManifestFile: true}
	for _, t := range RunTables {
		known[t+"."+FormatParquet], known[t+"."+FormatCSV] = true, true
	}
	knownDirs := map[string]bool{}
	for _, f := range m.Files {
		if name, ok := strings.CutSuffix(f.File, "/"); ok {
			knownDirs[name] = true // a table written as a folder of files
		} else {
			known[f.File] = true
		}
	}
	var odd []string
	for _, e := range entries {
		ok := (known[e.Name()] && e.Type().IsRegular()) || (knownDirs[e.Name()] && e.IsDir())
		if !ok {
			odd = append(odd, e.Name())
		}
	}
	if len(odd) > 0 {
		slices.Sort(odd)
		return foreign(odd, false)
	}
	return nil
}

// NewOutput checks dir with CheckOutput and returns a temporary folder
// beside it to write the tables and manifest into; Publish(true) then
// replaces dir with it in one step. A dir that is a symbolic link to a
// folder is resolved, so the folder it points to is the one replaced.
func NewOutput(dir string) (*atomicfs.Dir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("output folder %s: %w", dir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if err := CheckOutput(abs); err != nil {
		var fe *ForeignOutputError
		if errors.As(err, &fe) {
			fe.Dir = dir
		}
		return nil, err
	}
	return atomicfs.NewDir(abs)
}
