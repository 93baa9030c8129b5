package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/synth"
)

// TestOutputTableTypes pins the column names and types of every output
// table in the run folder's Parquet files (SPEC section 5: scripts and
// checks read them), in both modes.
func TestOutputTableTypes(t *testing.T) {
	ctx := context.Background()
	h, _ := loadGenerated(t, 3, synth.FormatCSV)
	want := map[string]string{
		"boxes":         "ship_on DATE, user_id BIGINT, position INTEGER, snack_id BIGINT, lot_id VARCHAR, score DOUBLE, requested BOOLEAN",
		"demand":        "ship_on DATE, snack_id BIGINT, demand INTEGER, covered INTEGER, shortage INTEGER",
		"snack_summary": "snack_id BIGINT, demand BIGINT, stock_usable BIGINT, covered BIGINT, shortage BIGINT",
		"short_boxes":   "ship_on DATE, user_id BIGINT, box_size INTEGER, filled INTEGER",
		"picks":         "ship_on DATE, snack_id BIGINT, lot_id VARCHAR, best_before DATE, units INTEGER",
	}
	db, err := duck.OpenMemory(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, mode := range []engine.Mode{engine.Preassign, engine.Assign} {
		out, err := plan.Execute(ctx, h, plan.Request{Mode: mode, D0: engine.DayOf(d0), Days: 7, Policy: policy.Default()})
		if err != nil {
			t.Fatal(err)
		}
		for table, cols := range want {
			file := filepath.Join(out.RunDir, table+".parquet")
			if table == "picks" && mode == engine.Preassign {
				continue
			}
			rows, err := db.Query(ctx, "DESCRIBE SELECT * FROM read_parquet("+duck.Quote(file)+")")
			if err != nil {
				t.Fatalf("%s %s: %v", mode, table, err)
			}
			var got []string
			for rows.Next() {
				var name, typ string
				var rest [4]any
				if err := rows.Scan(&name, &typ, &rest[0], &rest[1], &rest[2], &rest[3]); err != nil {
					t.Fatal(err)
				}
				got = append(got, name+" "+typ)
			}
			rows.Close()
			if strings.Join(got, ", ") != cols {
				t.Errorf("%s %s.parquet columns:\n got %s\nwant %s", mode, table, strings.Join(got, ", "), cols)
			}
		}
	}
}
