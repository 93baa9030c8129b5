package naive

import (
	"context"
	"testing"

	"github.com/assign-dev/assign/internal/spectest"
)

// TestCases runs the SPEC case suite (internal/spectest/testdata/cases)
// against this baseline; it writes no picks table.
func TestCases(t *testing.T) {
	spectest.Run(t, spectest.Impl{
		Name:   "naive",
		Modes:  []string{spectest.Preassign, spectest.RunMode},
		Tables: []string{"boxes", "demand", "snack_summary", "short_boxes"},
		Run: func(ctx context.Context, snapshot string, c spectest.Case, out string) error {
			p := c.Policy
			mode := Preassign
			if c.Mode == spectest.RunMode {
				mode = RunMode
			}
			res, err := Run(ctx, Options{
				Snapshot: snapshot, Start: DayOf(c.Start), Days: c.Days, Mode: mode, Threads: 1,
				Policy: Policy{
					MaxPerCategory: p.MaxPerCategory, FillIgnoringCaps: p.FillIgnoringCaps,
					RepeatWindowDays: p.RepeatWindowDays, NeverAgainRating: p.NeverAgainRating,
					NewSnackDays: p.NewSnackDays, MinShelfDays: p.MinShelfDays, PriorWeight: p.PriorWeight,
					WPopularity: p.WPopularity, WPreference: p.WPreference, WAffinity: p.WAffinity, WNovelty: p.WNovelty,
				},
			})
			if err != nil {
				return err
			}
			return res.WriteCSV(out)
		},
	})
}
