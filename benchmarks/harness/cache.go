package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/assign-dev/assign/synth"
)

// The cache under Options.CacheDir:
//
//	extracts/<scale>-seed<N>-<format>/       generated extracts
//	extracts/<scale>-seed<N>-<format>.json   marker: complete, with its key
//	homes/<scale>-seed<N>/                   data home with the extract loaded
//	homes/<scale>-seed<N>.json               marker: complete, with its key
//	bin/                                     baseline binaries built for the run
//	scratch/                                 outputs of timed runs, removed after each
//
// A marker is written only after its folder is complete, so an interrupted
// harness leaves a folder without a marker, which the next run replaces. A
// marker records the key the folder was made for (scale, seed, as-of,
// format, and a hash of the source that shapes it); a different key means
// the folder is stale and is made again.

// cacheKey identifies what a cached folder was made from.
type cacheKey struct {
	Scale  string `json:"scale"`
	Seed   int64  `json:"seed"`
	AsOf   string `json:"as_of"`
	Format string `json:"format,omitempty"`
	// Source is a hash of the code that produced the folder (the generator,
	// or the loader and the schema), so that editing it invalidates the cache.
	Source string `json:"source"`
	// Extract is, for a home, the key hash of the extract it was loaded from.
	Extract string `json:"extract,omitempty"`
}

func (k cacheKey) hash() string {
	b, _ := json.Marshal(k)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// marker is the content of a cache marker file.
type marker struct {
	Key     cacheKey  `json:"key"`
	Made    time.Time `json:"made"`
	Seconds float64   `json:"seconds"`
	// Snapshot is, for a home, the snapshot file the load wrote.
	Snapshot string `json:"snapshot,omitempty"`
	// Rows is, for an extract, the rows per table.
	Rows map[string]int64 `json:"rows,omitempty"`
	// Bytes is, for an extract, its total size.
	Bytes int64 `json:"bytes,omitempty"`
}

func readMarker(path string) (*marker, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var m marker
	if json.Unmarshal(b, &m) != nil {
		return nil, false
	}
	return &m, true
}

func writeMarker(path string, m marker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write cache marker: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write cache marker: %w", err)
	}
	return nil
}

// sourceHash hashes the files matching the globs under root (test files
// excluded), in name order. A root without any of them hashes to "none", so
// a harness run outside the repository still caches.
func sourceHash(root string, globs ...string) string {
	var files []string
	for _, g := range globs {
		m, _ := filepath.Glob(filepath.Join(root, g))
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		return "none"
	}
	slices.Sort(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Extract is a complete generated extract in the cache.
type Extract struct {
	Dir    string
	Key    string
	Marker marker
}

func (h *harness) extractKey(sc synth.Scale, format string) cacheKey {
	return cacheKey{Scale: sc.Name, Seed: h.opt.Seed, AsOf: h.opt.Date.Format(time.DateOnly), Format: format,
		Source: sourceHash(h.opt.RepoRoot, "synth/*.go")}
}

// ensureExtract returns the cached extract of sc in format, generating it
// (in-process, with synth.Generate) when it is missing or stale.
func (h *harness) ensureExtract(ctx context.Context, sc synth.Scale, format string) (*Extract, error) {
	key := h.extractKey(sc, format)
	name := fmt.Sprintf("%s-seed%d-%s", sc.Name, h.opt.Seed, format)
	dir := filepath.Join(h.opt.CacheDir, "extracts", name)
	mpath := dir + ".json"
	if m, ok := readMarker(mpath); ok && m.Key == key {
		if _, err := os.Stat(dir); err == nil {
			h.logf("%s: reusing the %s extract in %s", sc.Name, format, dir)
			return &Extract{Dir: dir, Key: key.hash(), Marker: *m}, nil
		}
	}
	_ = os.Remove(mpath)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clear stale extract %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("create cache folder: %w", err)
	}
	h.logf("%s: generating the %s extract (seed %d) into %s", sc.Name, format, h.opt.Seed, dir)
	start := time.Now()
	sum, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: h.opt.Seed, AsOf: h.opt.Date, Format: format, OutDir: dir})
	if err != nil {
		return nil, fmt.Errorf("generate the %s %s extract: %w", sc.Name, format, err)
	}
	m := marker{Key: key, Made: time.Now().UTC(), Seconds: time.Since(start).Seconds(), Rows: map[string]int64{}, Bytes: sum.Bytes()}
	for _, t := range sum.Tables {
		m.Rows[t.Name] = t.Rows
	}
	if err := writeMarker(mpath, m); err != nil {
		return nil, err
	}
	h.logf("%s: generated %d rows (%s) in %.1fs", sc.Name, sum.Rows(), HumanBytes(sum.Bytes()), m.Seconds)
	return &Extract{Dir: dir, Key: key.hash(), Marker: m}, nil
}

// Home is a cached data home holding one loaded snapshot.
type Home struct {
	Dir      string
	Snapshot string // path of the snapshot database file
}

// ensureHome returns the cached home with ex loaded, loading it with the
// assign binary (as a child process, not timed) when missing or stale.
func (h *harness) ensureHome(ctx context.Context, sc synth.Scale, ex *Extract) (*Home, error) {
	key := cacheKey{Scale: sc.Name, Seed: h.opt.Seed, AsOf: h.opt.Date.Format(time.DateOnly), Extract: ex.Key,
		Source: sourceHash(h.opt.RepoRoot, "loaders/*.go", "sql/schema.sql", "sql/derived_*.sql", "engine/derive.go",
			"engine/sidecar.go", "sql/sidecar_*.sql")}
	dir := filepath.Join(h.opt.CacheDir, "homes", fmt.Sprintf("%s-seed%d", sc.Name, h.opt.Seed))
	mpath := dir + ".json"
	if m, ok := readMarker(mpath); ok && m.Key == key {
		if _, err := os.Stat(m.Snapshot); err == nil {
			h.logf("%s: reusing the loaded home %s", sc.Name, dir)
			return &Home{Dir: dir, Snapshot: m.Snapshot}, nil
		}
	}
	_ = os.Remove(mpath)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clear stale home %s: %w", dir, err)
	}
	h.logf("%s: loading the extract into %s", sc.Name, dir)
	s, err := Measure(ctx, Command{Argv: []string{h.opt.Assign, "--home", dir, "load", ex.Dir, "--name", "bench"}})
	if err != nil {
		return nil, fmt.Errorf("load the %s extract into the cached home: %w", sc.Name, err)
	}
	snap := filepath.Join(dir, "snapshots", "bench.duckdb")
	if _, err := os.Stat(snap); err != nil {
		return nil, fmt.Errorf("load the %s extract: no snapshot file %s after the load", sc.Name, snap)
	}
	if err := writeMarker(mpath, marker{Key: key, Made: time.Now().UTC(), Seconds: s.Wall.Seconds(), Snapshot: snap}); err != nil {
		return nil, err
	}
	h.logf("%s: loaded in %.1fs", sc.Name, s.Wall.Seconds())
	return &Home{Dir: dir, Snapshot: snap}, nil
}

// scratch returns an empty folder for the outputs of one run.
func (h *harness) scratch(name string) (string, error) {
	dir := filepath.Join(h.opt.CacheDir, "scratch", name)
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clear scratch folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("create scratch folder: %w", err)
	}
	return dir, nil
}

// newRuns lists the run folders of home that are not in before, so that the
// runs a timed command added can be removed.
func runFolders(home string) map[string]bool {
	out := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(home, "runs"))
	if err != nil {
		return out
	}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

func removeNewRuns(home string, before map[string]bool) error {
	var errs []error
	for name := range runFolders(home) {
		if !before[name] {
			if err := os.RemoveAll(filepath.Join(home, "runs", name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// buildBaseline builds the command-line program of a baseline package into
// the cache's bin folder with the toolchain, from the repository root.
func (h *harness) buildBaseline(ctx context.Context, name, pkg string) (string, error) {
	out := filepath.Join(h.opt.CacheDir, "bin", name)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("create cache folder: %w", err)
	}
	h.logf("building %s (%s)", name, pkg)
	if _, err := Measure(ctx, Command{Argv: []string{h.opt.Go, "build", "-tags", "duckdb_arrow", "-o", out, pkg}, Dir: h.opt.RepoRoot}); err != nil {
		return "", fmt.Errorf("build baseline %s: %w", name, err)
	}
	return out, nil
}
