package plan

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
	"github.com/assign-dev/assign/store"
)

// Manifest is manifest.json of a run folder (SPEC section 5): what ran, on
// which snapshot, with which policy and flags, what came out, how long it took.
type Manifest struct {
	RunID     string             `json:"run_id"`
	Mode      string             `json:"mode"`
	Snapshot  string             `json:"snapshot"`
	CreatedAt string             `json:"created_at"`
	Version   string             `json:"assign_version"`
	Dates     ManifestDates      `json:"dates"`
	Policy    policy.Policy      `json:"policy"`
	Flags     map[string]any     `json:"flags"`
	Counts    ManifestCounts     `json:"counts"`
	PerDate   []DateCounts       `json:"per_date"`
	Files     []results.Written  `json:"files"`
	Timings   map[string]float64 `json:"timings_seconds"`
	// Scenario is set on what-if runs only.
	Scenario *Scenario `json:"scenario,omitempty"`
	// Shards says how a merged run was planned; nil for one machine.
	Shards *ShardsInfo `json:"shards,omitempty"`
	// Allocator is run mode's allocator ("greedy" or "optimal").
	Allocator string `json:"allocator,omitempty"`
	// Certificate is the optimal allocator's proof (allocator optimal only).
	Certificate *Certificate `json:"certificate,omitempty"`
}

// Scenario records what a what-if run changed and which run it is
// compared with.
type Scenario struct {
	// BaseRun is the run id the scenario started from and is compared with.
	BaseRun string `json:"base_run"`
	// Changes are the changes in words, one per line, in the order applied.
	Changes []string `json:"changes"`
	// Spec is the scenario as given (see package whatif), to rerun it.
	Spec json.RawMessage `json:"spec,omitempty"`
}

// ShardsInfo describes the parts a merged run was built from (assign merge).
type ShardsInfo struct {
	Count               int             `json:"count"`
	Hash                string          `json:"hash"`
	SnapshotFingerprint string          `json:"snapshot_fingerprint"`
	Parts               []ShardPart     `json:"parts"`
	Quota               *shard.QuotaRef `json:"quota,omitempty"`
	// FinalPass is what the merge of a run-mode job did with the stock the
	// shards left unused.
	FinalPass *FinalPass `json:"final_pass,omitempty"`
}

// ShardPart is one part of a merged run.
type ShardPart struct {
	Index    int     `json:"index"`
	Dir      string  `json:"dir"`
	Checksum string  `json:"checksum"`
	Users    int     `json:"users"`
	Seconds  float64 `json:"seconds"`
	Attempt  string  `json:"attempt,omitempty"`
}

// FinalPass reports the merge's final pass of a sharded run: the short boxes
// it topped up from the stock no shard used.
type FinalPass struct {
	ShortBefore   int     `json:"short_boxes_before"`
	ShortAfter    int     `json:"short_boxes_after"`
	BoxesTopped   int     `json:"boxes_topped_up"`
	LinesAdded    int64   `json:"lines_added"`
	UnitsLeftover int64   `json:"units_unused_by_shards"`
	ScoreAdded    float64 `json:"score_added"`
}

// ManifestDates is the horizon.
type ManifestDates struct {
	From      string   `json:"from"`
	To        string   `json:"to"`
	Days      int      `json:"days"`
	ShipDates []string `json:"ship_dates"`
}

// ManifestCounts are the totals of a run.
type ManifestCounts struct {
	Users      int   `json:"users"`
	Boxes      int   `json:"boxes"`
	BoxLines   int64 `json:"box_lines"`
	ShortBoxes int   `json:"short_boxes"`
	Demand     int64 `json:"demand_units"`
	Covered    int64 `json:"covered_units"`
	Shortage   int64 `json:"shortage_units"`
	Snacks     int   `json:"snacks"`
	Lots       int   `json:"lots"`
}

// DateCounts are the figures of one ship date.
type DateCounts struct {
	ShipOn     string `json:"ship_on"`
	Users      int    `json:"users"`
	Boxes      int    `json:"boxes"`
	ShortBoxes int    `json:"short_boxes"`
	Demand     int64  `json:"demand_units"`
	Shortage   int64  `json:"shortage_units"`
}

func newManifest(req Request, snapshot string, res *engine.Result, tables []*results.Table, started time.Time) *Manifest {
	in := res.Inputs
	m := &Manifest{
		Mode: req.Mode.String(), Snapshot: snapshot, CreatedAt: started.UTC().Format(time.RFC3339),
		Version: req.Version, Policy: res.Policy, Flags: req.Flags, Scenario: req.Scenario,
		Dates: ManifestDates{From: in.D0.String(), To: (in.D0 + engine.Day(in.Days-1)).String(), Days: in.Days},
	}
	if m.Flags == nil {
		m.Flags = map[string]any{}
	}
	if req.Mode == engine.Assign {
		m.Allocator = req.Allocator.String()
	}
	if res.Optimal != nil {
		m.Certificate = newCertificate(res.Optimal)
	}
	m.Counts.Users = in.NumUsers()
	m.Counts.Snacks = in.NumSnacks()
	m.Counts.Lots = len(in.LotID)
	for di, date := range res.Dates {
		c := results.CountDate(res, di)
		dc := DateCounts{ShipOn: date.Day.String(), Users: c.Users, Boxes: c.Boxes, ShortBoxes: c.ShortBoxes, Demand: c.Demand, Shortage: c.Shortage}
		m.Counts.BoxLines += c.Lines
		m.Counts.Boxes += dc.Boxes
		m.Counts.ShortBoxes += dc.ShortBoxes
		m.Counts.Demand += dc.Demand
		m.Counts.Shortage += dc.Shortage
		if dc.Users > 0 {
			m.Dates.ShipDates = append(m.Dates.ShipDates, dc.ShipOn)
			m.PerDate = append(m.PerDate, dc)
		}
	}
	m.Counts.Covered = m.Counts.Demand - m.Counts.Shortage
	return m
}

func (m *Manifest) setTimings(t map[string]time.Duration, total time.Duration) {
	m.Timings = map[string]float64{}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.Timings[k] = t[k].Seconds()
	}
	m.Timings["total"] = total.Seconds()
}

// JSON renders the manifest, indented, with a final newline.
func (m *Manifest) JSON() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// ReadManifest reads the manifest of the run folder dir.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, store.ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %w", path, err)
	}
	return &m, nil
}
