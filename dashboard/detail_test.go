package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
)

// The explanation of a box of a stock-aware scenario is made on the
// scenario's stock: with every unit of a snack removed, the box explained
// is the scenario's box (without that snack), not the base run's.
func TestScenarioExplanationUsesItsStock(t *testing.T) {
	f := newFixture(t)
	_, ts := f.server(t, Options{Loopback: true})
	c := ts.Client()
	ctx := context.Background()

	// A user and the first snack of their first box in the base run.
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user, snack int64
	var day string
	q := fmt.Sprintf(`SELECT user_id, snack_id, strftime(ship_on, '%%Y-%%m-%%d') FROM read_parquet(%s)
		WHERE position = 1 ORDER BY ship_on, user_id LIMIT 1`, duck.Quote(filepath.Join(f.home.RunsDir(), f.run, "boxes.parquet")))
	if err := db.QueryRow(ctx, q).Scan(&user, &snack, &day); err != nil {
		t.Fatal(err)
	}

	body, _ := json.Marshal(map[string]any{"base": f.run, "stock": []map[string]any{{"kind": "snack", "snack_id": snack, "units": -2000000000}}})
	res, err := c.Post(ts.URL+"/api/whatif", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		RunID string `json:"run_id"`
		Error string `json:"error"`
	}
	json.NewDecoder(res.Body).Decode(&w)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || w.RunID == "" {
		t.Fatalf("whatif: %d %s", res.StatusCode, w.Error)
	}

	explain := func(run string) (box, lines []int64, note string, snacks map[int64]string) {
		t.Helper()
		res, b := get(t, c, fmt.Sprintf("%s/api/user?run=%s&id=%d&date=%s", ts.URL, run, user, day))
		if res.StatusCode != 200 {
			t.Fatalf("user in %s: %d %s", run, res.StatusCode, b)
		}
		var u struct {
			Lines []struct {
				ShipOn  string `json:"ship_on"`
				SnackID int64  `json:"snack_id"`
			} `json:"lines"`
			Explain struct {
				Box []struct {
					SnackID int64 `json:"snack_id"`
				} `json:"box"`
				Snacks []struct {
					SnackID int64  `json:"snack_id"`
					Reason  string `json:"reason"`
				} `json:"snacks"`
			} `json:"explain"`
			Note string `json:"explain_note"`
		}
		if err := json.Unmarshal(b, &u); err != nil {
			t.Fatal(err)
		}
		for _, l := range u.Lines {
			if l.ShipOn == day {
				lines = append(lines, l.SnackID)
			}
		}
		for _, v := range u.Explain.Box {
			box = append(box, v.SnackID)
		}
		snacks = map[int64]string{}
		for _, v := range u.Explain.Snacks {
			snacks[v.SnackID] = v.Reason
		}
		return box, lines, u.Note, snacks
	}

	box, lines, _, _ := explain(f.run)
	if !slices.Equal(box, lines) || !slices.Contains(box, snack) {
		t.Fatalf("base run: explained box %v, run's box %v, want both with snack %d", box, lines, snack)
	}
	box, lines, note, reasons := explain(w.RunID)
	if slices.Contains(lines, snack) {
		t.Fatalf("the scenario without snack %d still boxed it: %v", snack, lines)
	}
	if !slices.Equal(box, lines) {
		t.Errorf("scenario: explained box %v, the scenario's box %v (explained on the snapshot's stock?)", box, lines)
	}
	if !strings.Contains(reasons[snack], "stock") {
		t.Errorf("scenario: snack %d's reason %q, want no stock", snack, reasons[snack])
	}
	if !strings.Contains(note, fmt.Sprintf("remove 2000000000 units of snack %d", snack)) && !strings.Contains(note, fmt.Sprintf("snack %d", snack)) {
		t.Errorf("scenario note %q does not name the change", note)
	}
}
