package harness

import (
	"fmt"
	"time"
)

// Issue 13's targets ("speed, round two"), checked against a report by
// Targets. The load reference is the median of the run of 2026-11-22 06:31
// in benchmarks/RESULTS.md, before the engine-ready inputs were derived at
// load time: the target is that loads get no slower.
var (
	targetMediumPreassign = 1200 * time.Millisecond
	targetMediumRun       = 1500 * time.Millisecond
	targetLargePreassign  = 12 * time.Second
	targetLargeRSS        = int64(2.5 * (1 << 30))
	targetSQLOnlyRatio    = 100.0
	targetThreadSpeedup   = 1.7
	referenceLoadParquet  = 6060 * time.Millisecond
	referenceLoadCSV      = 9300 * time.Millisecond
)

// TargetRow is one target with what a report measured for it.
type TargetRow struct {
	Target   string
	Measured string // "not measured" when the report lacks the runs
	// Holds is "yes", "no", or "" when not measured.
	Holds string
}

// Targets checks a report against the targets of issue 13. Rows whose runs
// the report lacks say "not measured"; the harness measures them all with
// --targets (make bench-targets).
func Targets(rep *Report) []TargetRow {
	get := func(scale, op, impl string, threads int) *Result {
		for _, sr := range rep.Scales {
			if sr.Scale != scale {
				continue
			}
			var days int
			for _, r := range sr.Results {
				if r.Op == OpPreassign && r.Impl == ImplAssign {
					days = r.Days
				}
			}
			if r := find(sr.Results, op, impl, threads, days); r != nil && len(r.Samples) > 0 {
				return r
			}
			if op == OpLoadParquet || op == OpLoadCSV {
				for _, r := range sr.Results {
					if r.Op == op && r.Impl == impl && r.Threads == threads && len(r.Samples) > 0 {
						return r
					}
				}
			}
		}
		return nil
	}
	holds := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	var out []TargetRow
	add := func(target, measured string, ok bool, have bool) {
		if !have {
			out = append(out, TargetRow{Target: target, Measured: "not measured"})
			return
		}
		out = append(out, TargetRow{Target: target, Measured: measured, Holds: holds(ok)})
	}

	mp := get("medium", OpPreassign, ImplAssign, 0)
	add(fmt.Sprintf("medium preassign --days 28 <= %s wall", secs(targetMediumPreassign)),
		wallOf(mp), mp != nil && mp.Wall() <= targetMediumPreassign, mp != nil)
	sq := get("medium", OpPreassign, ImplSQLOnly, 0)
	if mp != nil && sq != nil && equalOutput(rep, "medium", ImplSQLOnly) {
		ratio := sq.Wall().Seconds() / mp.Wall().Seconds()
		add(fmt.Sprintf("medium preassign >= %.0fx the SQL-only baseline (a), side by side", targetSQLOnlyRatio),
			fmt.Sprintf("%.1fx (sqlonly %s)", ratio, secs(sq.Wall())), ratio >= targetSQLOnlyRatio, true)
	} else {
		add(fmt.Sprintf("medium preassign >= %.0fx the SQL-only baseline (a), side by side", targetSQLOnlyRatio), "", false, false)
	}
	mr := get("medium", OpRun, ImplAssign, 0)
	add(fmt.Sprintf("medium run --days 28 <= %s wall", secs(targetMediumRun)),
		wallOf(mr), mr != nil && mr.Wall() <= targetMediumRun, mr != nil)
	lp := get("large", OpPreassign, ImplAssign, 0)
	add(fmt.Sprintf("large preassign --days 28 <= %s wall", secs(targetLargePreassign)),
		wallOf(lp), lp != nil && lp.Wall() <= targetLargePreassign, lp != nil)
	if lp != nil {
		add(fmt.Sprintf("large preassign --days 28 <= %s peak RSS", HumanBytes(targetLargeRSS)),
			HumanBytes(lp.MaxRSS()), lp.MaxRSS() <= targetLargeRSS, true)
	} else {
		add(fmt.Sprintf("large preassign --days 28 <= %s peak RSS", HumanBytes(targetLargeRSS)), "", false, false)
	}
	for _, op := range []string{OpPreassign, OpRun} {
		one, two := get("medium", op, ImplAssign, 1), get("medium", op, ImplAssign, 2)
		target := fmt.Sprintf("medium %s: threads 1 -> 2 speedup >= %.1fx", op, targetThreadSpeedup)
		if one == nil || two == nil {
			add(target, "", false, false)
			continue
		}
		s := one.Wall().Seconds() / two.Wall().Seconds()
		add(target, fmt.Sprintf("%.2fx (%s -> %s)", s, secs(one.Wall()), secs(two.Wall())), s >= targetThreadSpeedup, true)
	}
	for _, c := range []struct {
		op  string
		ref time.Duration
	}{{OpLoadParquet, referenceLoadParquet}, {OpLoadCSV, referenceLoadCSV}} {
		r := get("medium", c.op, ImplAssign, 0)
		target := fmt.Sprintf("medium %s no slower than %s (2026-11-22)", c.op, secs(c.ref))
		add(target, wallOf(r), r != nil && r.Wall() <= c.ref, r != nil)
	}
	return out
}

func wallOf(r *Result) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%s (%s user+sys, %s peak RSS)", secs(r.Wall()), secs(r.CPU()), HumanBytes(r.MaxRSS()))
}

// equalOutput reports whether impl's output was checked equal to assign's
// at scale (ratios are only meaningful then).
func equalOutput(rep *Report, scale, impl string) bool {
	for _, sr := range rep.Scales {
		if sr.Scale != scale {
			continue
		}
		seen := false
		for _, e := range sr.Equality {
			if e.Impl == impl {
				if !e.Equal {
					return false
				}
				seen = true
			}
		}
		return seen
	}
	return false
}

// anyMeasured reports whether some target row has a measurement.
func anyMeasured(rows []TargetRow) bool {
	for _, r := range rows {
		if r.Holds != "" {
			return true
		}
	}
	return false
}
