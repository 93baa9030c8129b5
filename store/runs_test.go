package store

import (
	"path/filepath"
	"testing"
	"time"
)

func TestScenarioRunsAreNeverLatest(t *testing.T) {
	h, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	for i, mode := range []string{"preassign", "run", "preassign-" + ScenarioTag, "run-" + ScenarioTag, "run-" + ScenarioTag} {
		p, err := h.NewPendingRun(mode, at.Add(time.Duration(min(i, 3))*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Commit(map[string]string{"mode": mode}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := h.ListRuns()
	if err != nil {
		t.Fatal(err)
	}
	want := []RunInfo{
		{ID: "20260301T070000-preassign", Mode: "preassign"},
		{ID: "20260301T070100-run", Mode: "run"},
		{ID: "20260301T070200-preassign-scenario", Mode: "preassign", Scenario: true},
		{ID: "20260301T070300-run-scenario", Mode: "run", Scenario: true},
		{ID: "20260301T070300-run-scenario-2", Mode: "run", Scenario: true},
	}
	if len(runs) != len(want) {
		t.Fatalf("runs %+v", runs)
	}
	for i, w := range want {
		r := runs[i]
		if r.ID != w.ID || r.Mode != w.Mode || r.Scenario != w.Scenario || r.Dir != filepath.Join(h.RunsDir(), w.ID) {
			t.Errorf("run %d = %+v, want %+v", i, r, w)
		}
	}
	latest, err := h.FindRun("latest")
	if err != nil || latest.ID != "20260301T070100-run" {
		t.Errorf("latest = %+v, %v; want the newest run that is not a scenario", latest, err)
	}
	byID, err := h.FindRun("20260301T070300-run-scenario")
	if err != nil || !byID.Scenario {
		t.Errorf("a scenario by id: %+v, %v", byID, err)
	}
	byPath, err := h.FindRun(byID.Dir)
	if err != nil || !byPath.Scenario || byPath.Mode != "run" {
		t.Errorf("a scenario by path: %+v, %v", byPath, err)
	}

	// A home with scenarios only has no latest run.
	h2, _ := Open(t.TempDir())
	p, _ := h2.NewPendingRun("preassign-"+ScenarioTag, at)
	p.Commit(map[string]string{})
	if _, err := h2.FindRun(""); err == nil {
		t.Error("a scenario became latest in a home without other runs")
	}
}
