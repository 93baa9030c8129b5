package harness

import (
	"bytes"
	"strings"
	"testing"
)

func TestTargetsReadTheRunsTheyNeed(t *testing.T) {
	res := func(op, impl string, threads int, wall, cpu float64, rss int64) *Result {
		return &Result{Op: op, Impl: impl, Threads: threads, Days: 28, Samples: []Sample{secondsSample(wall, cpu, rss)}}
	}
	rep := &Report{Scales: []*ScaleReport{
		{
			Scale:    "medium",
			Equality: []Equality{{Impl: ImplSQLOnly, Equal: true}},
			Results: []*Result{
				res(OpLoadParquet, ImplAssign, 0, 5, 9, 1<<30),
				res(OpLoadCSV, ImplAssign, 0, 9.5, 16, 1<<30),
				res(OpPreassign, ImplAssign, 0, 1.1, 2, 1<<29),
				res(OpRun, ImplAssign, 0, 1.6, 2.5, 1<<29),
				res(OpPreassign, ImplAssign, 1, 2, 2, 1<<29),
				res(OpPreassign, ImplAssign, 2, 1.1, 2, 1<<29),
				res(OpRun, ImplAssign, 1, 2.4, 2.4, 1<<29),
				res(OpRun, ImplAssign, 2, 1.6, 2.5, 1<<29),
				res(OpPreassign, ImplSQLOnly, 0, 121, 200, 1<<30),
			},
		},
		{
			Scale:   "large",
			Results: []*Result{res(OpPreassign, ImplAssign, 0, 11, 20, 3<<30)},
		},
	}}
	got := map[string]TargetRow{}
	for _, r := range Targets(rep) {
		got[r.Target] = r
	}
	want := map[string]string{
		"medium preassign --days 28 <= 1.20 s wall":                        "yes",
		"medium preassign >= 100x the SQL-only baseline (a), side by side": "yes",
		"medium run --days 28 <= 1.50 s wall":                              "no",
		"large preassign --days 28 <= 12.0 s wall":                         "yes",
		"large preassign --days 28 <= 2.5 GiB peak RSS":                    "no",
		"medium preassign: threads 1 -> 2 speedup >= 1.7x":                 "yes",
		"medium run: threads 1 -> 2 speedup >= 1.7x":                       "no",
		"medium load-parquet no slower than 6.06 s (2026-11-22)":           "yes",
		"medium load-csv no slower than 9.30 s (2026-11-22)":               "no",
	}
	if len(got) != len(want) {
		t.Errorf("%d target rows, want %d: %+v", len(got), len(want), got)
	}
	for target, holds := range want {
		r, ok := got[target]
		if !ok {
			t.Errorf("no row %q", target)
			continue
		}
		if r.Holds != holds {
			t.Errorf("%q holds %q (measured %q), want %q", target, r.Holds, r.Measured, holds)
		}
	}
	if r := got["medium preassign >= 100x the SQL-only baseline (a), side by side"]; !strings.HasPrefix(r.Measured, "110.0x") {
		t.Errorf("sqlonly ratio measured %q, want 110.0x", r.Measured)
	}

	// Without the runs a row says so, and a ratio needs equal outputs.
	rep.Scales[0].Equality[0].Equal = false
	rep.Scales = rep.Scales[:1]
	for _, r := range Targets(rep) {
		if strings.HasPrefix(r.Target, "large") || strings.Contains(r.Target, "SQL-only") {
			if r.Measured != "not measured" || r.Holds != "" {
				t.Errorf("%q: measured %q holds %q, want not measured", r.Target, r.Measured, r.Holds)
			}
		}
	}
	var out bytes.Buffer
	PrintTable(&out, rep)
	if !strings.Contains(out.String(), "Targets of issue 13") || !strings.Contains(out.String(), "not measured") {
		t.Errorf("printed table lacks the targets:\n%s", out.String())
	}
	if md := Markdown(rep, ""); !strings.Contains(md, "| medium run --days 28 <= 1.50 s wall |") {
		t.Errorf("markdown lacks the targets:\n%s", md)
	}
}
