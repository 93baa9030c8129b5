package shard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/assign-dev/assign/policy"
)

// PartFormat names the layout of a part folder; a merge refuses others.
const PartFormat = "assign-part/1"

// PartManifestFile is the manifest of a part folder, written last: a folder
// without it is not a part (a shard killed while writing leaves only a
// hidden .tmp- folder, never a folder of this name).
const PartManifestFile = "part.json"

// PartManifest is part.json: what a shard planned and what it wrote.
type PartManifest struct {
	Format      string        `json:"format"`
	Mode        string        `json:"mode"`
	Shard       Spec          `json:"shard"`
	ShardSource string        `json:"shard_source"`
	Hash        string        `json:"hash"`
	Snapshot    SnapshotRef   `json:"snapshot"`
	Dates       PartDates     `json:"dates"`
	Policy      policy.Policy `json:"policy"`
	// Allocator is the run-mode allocator ("greedy"), empty in preassign.
	Allocator string `json:"allocator,omitempty"`
	// Quota names the stock split of a run-mode shard.
	Quota     *QuotaRef      `json:"quota,omitempty"`
	Version   string         `json:"assign_version"`
	CreatedAt string         `json:"created_at"`
	Attempt   string         `json:"attempt,omitempty"`
	Flags     map[string]any `json:"flags"`
	Counts    PartCounts     `json:"counts"`
	PerDate   []PartDate     `json:"per_date"`
	Files     []PartFile     `json:"files"`
	// Checksum is the SHA-256 of the files' names and checksums (see
	// FilesChecksum): it identifies the part's content.
	Checksum string             `json:"checksum"`
	Timings  map[string]float64 `json:"timings_seconds"`
}

// SnapshotRef identifies a snapshot: its name and a fingerprint of what it
// records about itself (load time, source, per-table row counts), so a copy
// of the file has the same fingerprint and two loads never do.
type SnapshotRef struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
}

// PartDates is the horizon: From (YYYY-MM-DD) and Days.
type PartDates struct {
	From string `json:"from"`
	Days int    `json:"days"`
}

// QuotaRef names where a run-mode shard's stock quota came from: the merged
// preassign run whose per-shard demand split the lots.
type QuotaRef struct {
	Run    string `json:"run"`
	Digest string `json:"digest"`
}

// PartCounts are a part's totals.
type PartCounts struct {
	Users      int   `json:"users"`
	Boxes      int   `json:"boxes"`
	BoxLines   int64 `json:"box_lines"`
	ShortBoxes int   `json:"short_boxes"`
	Demand     int64 `json:"demand_units"`
}

// PartDate are a part's figures of one ship date (dates without shipping
// users are left out).
type PartDate struct {
	ShipOn     string `json:"ship_on"`
	Users      int    `json:"users"`
	Boxes      int    `json:"boxes"`
	ShortBoxes int    `json:"short_boxes"`
	Demand     int64  `json:"demand_units"`
}

// PartFile is one file of a part with its size and SHA-256.
type PartFile struct {
	Table  string `json:"table"`
	File   string `json:"file"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Part is a part folder as read by a merge.
type Part struct {
	Dir      string
	Manifest *PartManifest
}

// FileSum returns the size and SHA-256 (hex) of a file.
func FileSum(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// FilesChecksum is the SHA-256 of "file sha256\n" for every file in order.
func FilesChecksum(files []PartFile) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %s\n", f.File, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ReadPart reads the manifest of the part folder dir.
func ReadPart(dir string) (*Part, error) {
	b, err := os.ReadFile(filepath.Join(dir, PartManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a part folder: it has no %s (a shard that did not finish leaves none)", dir, PartManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read part %s: %w", dir, err)
	}
	var m PartManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("part %s: %s is not valid JSON: %v", dir, PartManifestFile, err)
	}
	if m.Format != PartFormat {
		return nil, fmt.Errorf("part %s has format %q, this assign reads %q", dir, m.Format, PartFormat)
	}
	return &Part{Dir: dir, Manifest: &m}, nil
}

// Verify checks that every file of the part is there with the size and
// SHA-256 its manifest records, and that the manifest's checksum covers them.
func (p *Part) Verify() error {
	m := p.Manifest
	if FilesChecksum(m.Files) != m.Checksum {
		return fmt.Errorf("part %s: the checksum in %s does not match its file list; the manifest was changed", p.Dir, PartManifestFile)
	}
	for _, f := range m.Files {
		path := filepath.Join(p.Dir, f.File)
		n, sum, err := FileSum(path)
		if err != nil {
			return fmt.Errorf("part %s: %s: %w", p.Dir, f.File, err)
		}
		if n != f.Bytes || sum != f.SHA256 {
			return fmt.Errorf("part %s: %s has %d bytes with SHA-256 %s, the manifest says %d bytes with %s; the file is damaged or was replaced: run shard %s again", p.Dir, f.File, n, sum[:12], f.Bytes, f.SHA256[:min(12, len(f.SHA256))], m.Shard)
		}
	}
	return nil
}

// File returns the path of the part's file of table, or "" when it has none.
func (p *Part) File(table string) string {
	for _, f := range p.Manifest.Files {
		if f.Table == table {
			return filepath.Join(p.Dir, f.File)
		}
	}
	return ""
}

// FindParts reads the parts named by args: each is a part folder, or a
// folder whose part-* subfolders are parts (what shards writing to one
// --out folder leave). Hidden folders (.tmp- of unfinished shards) are
// passed over.
func FindParts(args []string) ([]*Part, error) {
	var parts []*Part
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", a, pathErr(err))
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("part %s is a file; give part folders, or the folder holding them", a)
		}
		if _, err := os.Stat(filepath.Join(a, PartManifestFile)); err == nil {
			p, err := ReadPart(a)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", a, err)
		}
		found := 0
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "part-") {
				continue
			}
			p, err := ReadPart(filepath.Join(a, e.Name()))
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
			found++
		}
		if found == 0 {
			return nil, fmt.Errorf("%s holds no parts: neither a %s nor part-* folders with one", a, PartManifestFile)
		}
	}
	return parts, nil
}

func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckSet verifies that parts are the complete set of one job: the same
// format, mode, hash, snapshot, policy, dates, allocator, quota, version and
// shard count, every index 0..N-1 exactly once. The error names what differs
// (and in which parts) or which indexes are missing or repeated. On success
// the parts are returned in index order.
func CheckSet(parts []*Part) ([]*Part, error) {
	if len(parts) == 0 {
		return nil, errors.New("no parts to merge")
	}
	fields := []struct {
		name string
		get  func(m *PartManifest) string
	}{
		{"mode", func(m *PartManifest) string { return m.Mode }},
		{"shard hash", func(m *PartManifest) string { return m.Hash }},
		{"snapshot", func(m *PartManifest) string {
			return fmt.Sprintf("%s (fingerprint %s)", m.Snapshot.Name, short(m.Snapshot.Fingerprint))
		}},
		{"first date", func(m *PartManifest) string { return m.Dates.From }},
		{"days", func(m *PartManifest) string { return fmt.Sprint(m.Dates.Days) }},
		{"allocator", func(m *PartManifest) string { return m.Allocator }},
		{"stock quota", func(m *PartManifest) string {
			if m.Quota == nil {
				return "none"
			}
			return fmt.Sprintf("from run %s (digest %s)", m.Quota.Run, short(m.Quota.Digest))
		}},
		{"assign version", func(m *PartManifest) string { return m.Version }},
		{"shard count", func(m *PartManifest) string { return fmt.Sprint(m.Shard.Count) }},
	}
	for _, f := range fields {
		byValue := map[string][]string{}
		var order []string
		for _, p := range parts {
			v := f.get(p.Manifest)
			if _, ok := byValue[v]; !ok {
				order = append(order, v)
			}
			byValue[v] = append(byValue[v], p.Manifest.Shard.PartName())
		}
		if len(order) > 1 {
			var s []string
			for _, v := range order {
				s = append(s, fmt.Sprintf("%s in %s", v, list(byValue[v])))
			}
			return nil, fmt.Errorf("the parts do not belong together: their %s differs: %s", f.name, strings.Join(s, "; "))
		}
	}
	if err := samePolicy(parts); err != nil {
		return nil, err
	}
	n := parts[0].Manifest.Shard.Count
	byIndex := map[int][]*Part{}
	for _, p := range parts {
		byIndex[p.Manifest.Shard.Index] = append(byIndex[p.Manifest.Shard.Index], p)
	}
	for i := 0; i < n; i++ {
		if ps := byIndex[i]; len(ps) > 1 {
			var dirs []string
			for _, p := range ps {
				dirs = append(dirs, p.Dir)
			}
			return nil, fmt.Errorf("shard %d of %d is given %d times (%s): give each part once", i, n, len(ps), strings.Join(dirs, ", "))
		}
	}
	var missing []string
	for i := 0; i < n; i++ {
		if len(byIndex[i]) == 0 {
			missing = append(missing, fmt.Sprint(i))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%d of %d parts are missing: shard %s (folders %s); run those shards, or wait for them to finish", len(missing), n, list(missing), missingNames(missing, n))
	}
	sorted := make([]*Part, 0, n)
	for i := 0; i < n; i++ {
		sorted = append(sorted, byIndex[i][0])
	}
	return sorted, nil
}

func missingNames(idx []string, n int) string {
	var names []string
	for _, s := range idx {
		var i int
		fmt.Sscan(s, &i)
		names = append(names, Spec{Index: i, Count: n}.PartName())
	}
	return list(names)
}

// list joins names, eliding the middle of long lists.
func list(names []string) string {
	if len(names) > 8 {
		return strings.Join(names[:4], ", ") + fmt.Sprintf(", ... (%d more), ", len(names)-6) + strings.Join(names[len(names)-2:], ", ")
	}
	return strings.Join(names, ", ")
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// samePolicy names the first policy key whose value differs between parts.
func samePolicy(parts []*Part) error {
	values := make([]map[string]any, len(parts))
	for i, p := range parts {
		b, _ := json.Marshal(p.Manifest.Policy)
		_ = json.Unmarshal(b, &values[i])
	}
	for _, k := range policy.Keys() {
		byValue := map[string][]string{}
		var order []string
		for i, p := range parts {
			v := fmt.Sprint(values[i][k])
			if _, ok := byValue[v]; !ok {
				order = append(order, v)
			}
			byValue[v] = append(byValue[v], p.Manifest.Shard.PartName())
		}
		if len(order) > 1 {
			var s []string
			for _, v := range order {
				s = append(s, fmt.Sprintf("%s in %s", v, list(byValue[v])))
			}
			return fmt.Errorf("the parts do not belong together: their policy differs: %s is %s", k, strings.Join(s, "; "))
		}
	}
	for _, p := range parts {
		if p.Manifest.Policy != parts[0].Manifest.Policy {
			return errors.New("the parts do not belong together: their policies differ")
		}
	}
	return nil
}
