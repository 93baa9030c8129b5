package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/store"
)

// Summary is summary.json: the report's figures for scripts and for the
// trend of later reports. Units are snack units (box lines).
type Summary struct {
	FormatVersion int           `json:"format_version"`
	GeneratedAt   string        `json:"generated_at"`
	Version       string        `json:"assign_version"`
	Snapshot      string        `json:"snapshot"`
	RunID         string        `json:"run_id"`
	RunDir        string        `json:"run_dir"`
	RunReused     bool          `json:"run_reused"`
	Dates         Dates         `json:"dates"`
	Policy        policy.Policy `json:"policy"`
	Totals        Totals        `json:"totals"`
	// WorstSnack is the snack with the largest shortage over the horizon
	// (ties: lower snack_id); null when nothing is short.
	WorstSnack   *SnackRow     `json:"worst_snack"`
	TopShortages []SnackRow    `json:"top_shortages"`
	TopDemand    []SnackRow    `json:"top_demand"`
	Categories   []CategoryRow `json:"categories"`
	PerDate      []DateRow     `json:"per_date"`
	// Previous are earlier reports of the same folder, oldest first.
	Previous []TrendPoint `json:"previous_reports"`
	Seconds  float64      `json:"seconds"`
}

// Dates is the horizon, inclusive.
type Dates struct {
	From string `json:"from"`
	To   string `json:"to"`
	Days int    `json:"days"`
}

// Totals are sums over the horizon.
type Totals struct {
	Users       int64   `json:"users"`
	Boxes       int64   `json:"boxes"`
	ShortBoxes  int64   `json:"short_boxes"`
	Lines       int64   `json:"box_lines"`
	Missing     int64   `json:"missing_lines"`
	FillPct     float64 `json:"fill_pct"`
	Demand      int64   `json:"demand_units"`
	StockUsable int64   `json:"stock_usable_on_first_date"`
	Covered     int64   `json:"covered_units"`
	Shortage    int64   `json:"shortage_units"`
	ShortagePct float64 `json:"shortage_pct"`
	SnacksShort int64   `json:"snacks_short"`
}

// SnackRow is one snack over the horizon.
type SnackRow struct {
	SnackID     int64  `json:"snack_id"`
	Name        string `json:"name"`
	Category    string `json:"category"`
	Demand      int64  `json:"demand"`
	StockUsable int64  `json:"stock_usable"`
	Covered     int64  `json:"covered"`
	Shortage    int64  `json:"shortage"`
}

// CategoryRow is one snack category over the horizon; MixPct is its share
// of all box lines.
type CategoryRow struct {
	Category      string  `json:"category"`
	Snacks        int64   `json:"snacks"`
	SnacksShort   int64   `json:"snacks_short"`
	Demand        int64   `json:"demand"`
	MixPct        float64 `json:"mix_pct"`
	StockUsable   int64   `json:"stock_usable"`
	Covered       int64   `json:"covered"`
	Shortage      int64   `json:"shortage"`
	ShortagePct   float64 `json:"shortage_pct"`
	WorstSnack    string  `json:"worst_snack,omitempty"`
	WorstShortage int64   `json:"worst_snack_shortage"`
	worstID       int64
}

// DateRow is one ship date. Lines are box lines filled, Missing the lines
// short boxes lack; FillPct = Lines / (Lines + Missing).
type DateRow struct {
	ShipOn     string  `json:"ship_on"`
	Users      int64   `json:"users"`
	Boxes      int64   `json:"boxes"`
	ShortBoxes int64   `json:"short_boxes"`
	Lines      int64   `json:"box_lines"`
	Missing    int64   `json:"missing_lines"`
	FillPct    float64 `json:"fill_pct"`
	Demand     int64   `json:"demand_units"`
	Covered    int64   `json:"covered_units"`
	Shortage   int64   `json:"shortage_units"`
}

// TrendPoint is the headline of an earlier report.
type TrendPoint struct {
	Report      string  `json:"report"`
	From        string  `json:"from"`
	Days        int     `json:"days"`
	GeneratedAt string  `json:"generated_at"`
	Demand      int64   `json:"demand_units"`
	Shortage    int64   `json:"shortage_units"`
	ShortagePct float64 `json:"shortage_pct"`
	ShortBoxes  int64   `json:"short_boxes"`
}

// ReadSummary reads summary.json of a report folder.
func ReadSummary(dir string) (*Summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotReport, err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SummaryFile), err)
	}
	if s.FormatVersion != summaryVersion {
		return nil, fmt.Errorf("%s: format version %d, want %d", filepath.Join(dir, SummaryFile), s.FormatVersion, summaryVersion)
	}
	return &s, nil
}

func readManifest(dir string) (*plan.Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, store.ManifestFile))
	if err != nil {
		return nil, err
	}
	var m plan.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// cols reads typed values from a record batch by column name; the first
// type mismatch is kept in err.
type cols struct {
	rec arrow.RecordBatch
	idx map[string]int
	err error
}

func columns(rec arrow.RecordBatch) *cols {
	c := &cols{rec: rec, idx: map[string]int{}}
	for i, f := range rec.Schema().Fields() {
		c.idx[f.Name] = i
	}
	return c
}

func (c *cols) col(name string) arrow.Array {
	i, ok := c.idx[name]
	if !ok {
		if c.err == nil {
			c.err = fmt.Errorf("column %s missing", name)
		}
		return nil
	}
	return c.rec.Column(i)
}

func (c *cols) int(name string, i int) int64 {
	switch a := c.col(name).(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case nil:
		return 0
	default:
		if c.err == nil {
			c.err = fmt.Errorf("column %s: want an integer, got %s", name, a.DataType())
		}
		return 0
	}
}

func (c *cols) str(name string, i int) string {
	switch a := c.col(name).(type) {
	case *array.String:
		return string([]byte(a.Value(i))) // copy: the batch's buffers are reused
	case nil:
		return ""
	default:
		if c.err == nil {
			c.err = fmt.Errorf("column %s: want text, got %s", name, a.DataType())
		}
		return ""
	}
}

func (c *cols) date(name string, i int) string {
	switch a := c.col(name).(type) {
	case *array.Date32:
		return a.Value(i).FormattedString()
	case nil:
		return ""
	default:
		if c.err == nil {
			c.err = fmt.Errorf("column %s: want a date, got %s", name, a.DataType())
		}
		return ""
	}
}
