package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/assign-dev/assign/atomicfs"
)

// ManifestFile is the file whose presence marks a run folder complete.
const ManifestFile = "manifest.json"

// PendingRun is a run folder being written. It becomes visible only when
// Commit renames it into place after the manifest is written.
type PendingRun struct {
	ID  string
	Dir string // write outputs here
	dir *atomicfs.Dir
}

// NewPendingRun reserves a run id of the given mode ("preassign", "run"),
// or of a scenario of it ("preassign-scenario": see ScenarioTag). The id is
// reserved by creating its hidden folder, which fails when another process
// took it first, so two runs started in the same second get two ids.
func (h *Home) NewPendingRun(mode string, t time.Time) (*PendingRun, error) {
	base := t.UTC().Format("20060102T150405") + "-" + mode
	id := base
	for i := 2; ; i++ {
		final := filepath.Join(h.RunsDir(), id)
		if _, err := os.Lstat(final); errors.Is(err, os.ErrNotExist) {
			d, err := atomicfs.NewDirAt(filepath.Join(h.RunsDir(), tmpPrefix+id), final)
			if err == nil {
				return &PendingRun{ID: id, Dir: d.Path, dir: d}, nil
			}
			if errors.Is(err, os.ErrPermission) {
				return nil, fmt.Errorf("cannot write a run folder in %s: permission denied; runs need write access to the home (see \"A shared home\" in the README)", h.RunsDir())
			}
			if !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("create run folder: %w", err)
			}
		}
		id = fmt.Sprintf("%s-%d", base, i)
	}
}

// Commit writes the manifest into the folder and renames it into place.
func (r *PendingRun) Commit(manifest any) (string, error) {
	b, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode manifest: %w", err)
	}
	if err := atomicfs.WriteFile(filepath.Join(r.Dir, ManifestFile), append(b, '\n')); err != nil {
		return "", err
	}
	if err := r.dir.Publish(false); err != nil {
		return "", fmt.Errorf("publish run %s: %w", r.ID, err)
	}
	return r.dir.Final(), nil
}

// Abort removes the pending folder.
func (r *PendingRun) Abort() { r.dir.Abort() }

// ScenarioTag follows the mode in the id of a what-if scenario run
// ("20261122T080101-preassign-scenario"). Scenario runs are listed like any
// run but are never what "latest" names: they answer a question about
// changed inputs, not the plan of record.
const ScenarioTag = "scenario"

// RunInfo describes one complete run folder.
type RunInfo struct {
	ID   string
	Dir  string
	Mode string
	// Scenario marks a what-if run (its id carries ScenarioTag).
	Scenario bool
}

// parseRunID splits a run folder name "<time>-<mode>[-scenario][-N]" into
// its mode and scenario mark.
func parseRunID(n string) (mode string, scenario bool) {
	i := strings.IndexByte(n, '-')
	if i < 0 {
		return "", false
	}
	parts := strings.Split(n[i+1:], "-")
	return parts[0], len(parts) > 1 && parts[1] == ScenarioTag
}

// ListRuns returns complete runs (folders holding a manifest), oldest first.
func (h *Home) ListRuns() ([]RunInfo, error) {
	entries, err := os.ReadDir(h.RunsDir())
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var out []RunInfo
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		dir := filepath.Join(h.RunsDir(), n)
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
			continue
		}
		mode, scenario := parseRunID(n)
		out = append(out, RunInfo{ID: n, Dir: dir, Mode: mode, Scenario: scenario})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// FindRun returns the run with the given id, or the latest run when id is
// "latest" or empty. What-if scenario runs are never the latest one.
func (h *Home) FindRun(id string) (RunInfo, error) {
	runs, err := h.ListRuns()
	if err != nil {
		return RunInfo{}, err
	}
	if id == "" || id == "latest" {
		for i := len(runs) - 1; i >= 0; i-- {
			if !runs[i].Scenario {
				return runs[i], nil
			}
		}
		return RunInfo{}, errors.New("no runs yet: run 'assign preassign' or 'assign run' first")
	}
	for _, r := range runs {
		if r.ID == id {
			return r, nil
		}
	}
	// Accept a path to a run folder too (e.g. an --out directory).
	if fi, err := os.Stat(filepath.Join(id, ManifestFile)); err == nil && !fi.IsDir() {
		abs, _ := filepath.Abs(id)
		mode, scenario := parseRunID(filepath.Base(abs))
		return RunInfo{ID: filepath.Base(abs), Dir: abs, Mode: mode, Scenario: scenario}, nil
	}
	return RunInfo{}, fmt.Errorf("run %q not found in %s: list the runs with assign query \"SELECT run_id FROM runs\", or give a run folder path", id, h.RunsDir())
}
