// Package merge turns the part folders of a sharded job into one run: it
// checks that the parts belong together (package shard), verifies their
// checksums, and builds the SPEC section 5 tables of the whole job.
//
// Preassign: users are independent when stock is ignored, so the parts'
// boxes together are exactly the boxes of one machine. The merge sums the
// parts' demand per (ship_on, snack_id) and covers it first-expiry-first-out
// once, from the snapshot's lots, as a single preassign does; the result
// equals the single machine's row for row.
//
// Run: each shard assigned within its stock quota; the merge gives the units
// no shard used to the short boxes in a final pass (finalpass.go).
package merge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
	"github.com/assign-dev/assign/store"
)

// ShardDemandTable is the extra table of a merged preassign run: each
// shard's demand per snack over the horizon. Run-mode shards split the stock
// by it (see shard.LotQuota).
const ShardDemandTable = plan.ShardDemandTable

// Request describes one merge.
type Request struct {
	// Parts are part folders, or folders holding part-* folders.
	Parts []string
	// OutDir, when set, also receives the tables in OutFormat.
	OutDir    string
	OutFormat string
	// NoSave skips the run folder in the home.
	NoSave  bool
	Threads int
	Flags   map[string]any
	Now     func() time.Time
	Version string
	Logger  *slog.Logger
	// Stage, when set, is told when each phase starts.
	Stage func(name string)
}

// Outcome is what a merge produced.
type Outcome struct {
	Parts []*shard.Part
	// Result holds the merged aggregates (demand, coverage, stock), no boxes.
	Result   *engine.Result
	Manifest *plan.Manifest
	RunDir   string
	OutDir   string
	// Score is the total score of the merged box lines (run mode).
	Score float64
}

// Execute merges the parts named in req into a run of home.
func Execute(ctx context.Context, home *store.Home, req Request) (*Outcome, error) {
	if req.Now == nil {
		req.Now = time.Now
	}
	if req.Logger == nil {
		req.Logger = slog.New(slog.DiscardHandler)
	}
	if req.OutFormat == "" {
		req.OutFormat = results.FormatParquet
	}
	stage := func(s string) {
		if req.Stage != nil {
			req.Stage(s)
		}
	}
	started := req.Now()
	timings := map[string]time.Duration{}
	tick := time.Now()
	lap := func(name string) {
		timings[name] = time.Since(tick)
		tick = time.Now()
	}

	stage("checking parts")
	found, err := shard.FindParts(req.Parts)
	if err != nil {
		return nil, err
	}
	parts, err := shard.CheckSet(found)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if err := p.Verify(); err != nil {
			return nil, err
		}
	}
	m0 := parts[0].Manifest
	lap("verify")

	name, path, err := home.Resolve(m0.Snapshot.Name)
	if err != nil {
		return nil, fmt.Errorf("the parts were planned on snapshot %s, which this home (%s) does not hold: point --home at the data home the shards read, or copy the snapshot file into %s", m0.Snapshot.Name, home.Dir, home.SnapshotsDir())
	}
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: req.Threads, TempDir: home.TmpDir()})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	fp, err := plan.SnapshotFingerprint(ctx, db)
	if err != nil {
		return nil, err
	}
	if fp != m0.Snapshot.Fingerprint {
		return nil, fmt.Errorf("snapshot %s in %s is not the one the parts were planned on (fingerprint %.12s, the parts say %.12s): it was loaded again under the same name; merge in the home the shards read", name, home.Dir, fp, m0.Snapshot.Fingerprint)
	}
	d0, err := time.Parse("2006-01-02", m0.Dates.From)
	if err != nil {
		return nil, fmt.Errorf("part %s: first date %q: %v", parts[0].Dir, m0.Dates.From, err)
	}

	stage("reading the snapshot")
	// No users: the merge needs the snapshot's snacks and lots only.
	in, err := engine.LoadInputs(ctx, db, engine.LoadOptions{D0: engine.DayOf(d0), Days: m0.Dates.Days, Policy: m0.Policy, CatalogueOnly: true, Logger: req.Logger})
	if err != nil {
		return nil, err
	}
	lap("inputs")

	mg := &merger{req: req, parts: parts, db: db, in: in, home: home}
	var out *Outcome
	switch m0.Mode {
	case "preassign":
		out, err = mg.preassign(ctx, stage, lap)
	case "run":
		out, err = mg.run(ctx, stage, lap)
	default:
		return nil, fmt.Errorf("part %s has mode %q, which this assign cannot merge", parts[0].Dir, m0.Mode)
	}
	if err != nil {
		return nil, err
	}
	out.Parts = parts

	man := mg.manifest(name, fp, out, started)
	if !req.NoSave {
		stage("writing the run")
		pending, err := home.NewPendingRun(m0.Mode, req.Now())
		if err != nil {
			return nil, err
		}
		man.RunID = pending.ID
		files, err := mg.write(ctx, out, pending.Dir, results.FormatParquet)
		if err != nil {
			pending.Abort()
			return nil, err
		}
		man.Files = files
		lap("write")
		man.setTimings(timings, time.Since(started))
		dir, err := pending.Commit(man)
		if err != nil {
			pending.Abort()
			return nil, err
		}
		out.RunDir = dir
	}
	if req.OutDir != "" {
		stage("writing " + req.OutDir)
		// The tables replace the folder whole (see results.NewOutput).
		od, err := results.NewOutput(req.OutDir)
		if err != nil {
			return nil, err
		}
		defer od.Abort()
		files, err := mg.write(ctx, out, od.Path, req.OutFormat)
		if err != nil {
			return nil, err
		}
		lap("write_out")
		m := *man
		m.Files = files
		m.setTimings(timings, time.Since(started))
		if err := atomicfs.WriteFile(filepath.Join(od.Path, store.ManifestFile), m.JSON()); err != nil {
			return nil, err
		}
		if err := od.Publish(true); err != nil {
			return nil, err
		}
		out.OutDir = req.OutDir
		if req.NoSave {
			man = &m
		}
	}
	man.setTimings(timings, time.Since(started))
	out.Manifest = &man.Manifest
	removeLeftovers(req.Parts)
	return out, nil
}

type merger struct {
	req   Request
	parts []*shard.Part
	db    *duck.DB
	in    *engine.Inputs
	home  *store.Home
	// runState is set by the merge of a run.
	runState *runState
}

// preassign sums the parts' demand and covers it FEFO once.
func (mg *merger) preassign(ctx context.Context, stage func(string), lap func(string)) (*Outcome, error) {
	stage("summing demand")
	demand, err := mg.sumDemand(ctx)
	if err != nil {
		return nil, err
	}
	lap("demand")
	stage("covering demand")
	res := engine.CoverDemand(mg.in, mg.parts[0].Manifest.Policy, demand)
	lap("cover")
	return &Outcome{Result: res}, nil
}

// files lists the part files of table, in shard order, as a DuckDB list.
func (mg *merger) files(table string) (string, error) {
	var q []string
	for _, p := range mg.parts {
		f := p.File(table)
		if f == "" {
			return "", fmt.Errorf("part %s has no %s table", p.Dir, table)
		}
		q = append(q, duck.Quote(f))
	}
	return "[" + strings.Join(q, ", ") + "]", nil
}

// sumDemand reads every part's demand and sums it per date index and sidx.
func (mg *merger) sumDemand(ctx context.Context) ([][]int32, error) {
	in := mg.in
	files, err := mg.files(results.PartDemandTable)
	if err != nil {
		return nil, err
	}
	sidx := make(map[int64]int, in.NumSnacks())
	for s, id := range in.SnackID {
		sidx[id] = s
	}
	demand := make([][]int32, in.Days)
	for di := range demand {
		demand[di] = make([]int32, in.NumSnacks())
	}
	rows, err := mg.db.Query(ctx, `SELECT ship_on, snack_id, sum(demand)::BIGINT FROM read_parquet(`+files+`) GROUP BY ALL`)
	if err != nil {
		return nil, fmt.Errorf("read the parts' demand: %w", duck.Clean(err))
	}
	defer rows.Close()
	for rows.Next() {
		var d time.Time
		var id, n int64
		if err := rows.Scan(&d, &id, &n); err != nil {
			return nil, fmt.Errorf("read the parts' demand: %w", duck.Clean(err))
		}
		di := int(engine.DayOf(d) - in.D0)
		s, ok := sidx[id]
		if di < 0 || di >= in.Days || !ok {
			return nil, fmt.Errorf("the parts' demand has snack %d on %s, outside the snapshot's snacks or the horizon: a part is damaged", id, d.Format("2006-01-02"))
		}
		demand[di][s] += int32(n)
	}
	return demand, duck.Clean(rows.Err())
}

// manifestDraft is the merged run's manifest while it is being written.
type manifestDraft struct{ plan.Manifest }

func (m *manifestDraft) setTimings(t map[string]time.Duration, total time.Duration) {
	m.Timings = map[string]float64{"total": total.Seconds()}
	for k, v := range t {
		m.Timings[k] = v.Seconds()
	}
}

// manifest builds the merged run's manifest: the figures are the sums of the
// parts' (users are disjoint) with the coverage of the merge.
func (mg *merger) manifest(snapshot, fp string, out *Outcome, started time.Time) *manifestDraft {
	m0 := mg.parts[0].Manifest
	in := mg.in
	res := out.Result
	flags := map[string]any{}
	for k, v := range mg.req.Flags {
		flags[k] = v
	}
	m := &manifestDraft{plan.Manifest{
		Mode: m0.Mode, Snapshot: snapshot, CreatedAt: started.UTC().Format(time.RFC3339), Version: mg.req.Version,
		Policy: m0.Policy, Flags: flags, Allocator: m0.Allocator,
		Dates: plan.ManifestDates{From: m0.Dates.From, To: (in.D0 + engine.Day(in.Days-1)).String(), Days: in.Days},
	}}
	m.Shards = &plan.ShardsInfo{Count: m0.Shard.Count, Hash: m0.Hash, SnapshotFingerprint: fp, Quota: m0.Quota}
	perDate := map[string]*plan.DateCounts{}
	for _, p := range mg.parts {
		pm := p.Manifest
		m.Shards.Parts = append(m.Shards.Parts, plan.ShardPart{Index: pm.Shard.Index, Dir: p.Dir, Checksum: pm.Checksum,
			Users: pm.Counts.Users, Seconds: pm.Timings["total"], Attempt: pm.Attempt})
		m.Counts.Users += pm.Counts.Users
		m.Counts.Boxes += pm.Counts.Boxes
		m.Counts.BoxLines += pm.Counts.BoxLines
		m.Counts.ShortBoxes += pm.Counts.ShortBoxes
		for _, d := range pm.PerDate {
			dc := perDate[d.ShipOn]
			if dc == nil {
				dc = &plan.DateCounts{ShipOn: d.ShipOn}
				perDate[d.ShipOn] = dc
			}
			dc.Users += d.Users
			dc.Boxes += d.Boxes
			dc.ShortBoxes += d.ShortBoxes
		}
	}
	if rs := mg.runState; rs != nil {
		for day, n := range rs.newBoxes {
			if dc := perDate[day.String()]; dc != nil {
				dc.Boxes += n
			}
			m.Counts.Boxes += n
		}
		for day, n := range rs.fixedShort {
			if dc := perDate[day.String()]; dc != nil {
				dc.ShortBoxes -= n
			}
			m.Counts.ShortBoxes -= n
		}
		m.Counts.BoxLines += rs.pass.LinesAdded
		pass := rs.pass
		m.Shards.FinalPass = &pass
	}
	m.Counts.Snacks = in.NumSnacks()
	m.Counts.Lots = len(in.LotID)
	for di := range res.Dates {
		day := res.Dates[di].Day.String()
		var dem, short int64
		for s, n := range res.Demand[di] {
			dem += int64(n)
			short += int64(n - res.Covered[di][s])
		}
		m.Counts.Demand += dem
		m.Counts.Shortage += short
		if dc := perDate[day]; dc != nil && dc.Users > 0 {
			dc.Demand, dc.Shortage = dem, short
			m.Dates.ShipDates = append(m.Dates.ShipDates, day)
			m.PerDate = append(m.PerDate, *dc)
		}
	}
	m.Counts.Covered = m.Counts.Demand - m.Counts.Shortage
	return m
}

// write writes the merged tables into dir. Parquet: boxes is a folder of
// the parts' box files (linked, or copied across file systems), one per
// shard, each sorted by (ship_on, user_id, position): rewriting them as one
// file would cost as much as the single machine's writing. CSV: boxes is one
// file in the SPEC's order. The other tables are single files.
func (mg *merger) write(ctx context.Context, out *Outcome, dir, format string) ([]results.Written, error) {
	if err := os.MkdirAll(dir, atomicfs.DirPerm); err != nil {
		return nil, fmt.Errorf("create output folder: %w", err)
	}
	var written []results.Written
	var boxRows int64
	for _, p := range mg.parts {
		for _, f := range p.Manifest.Files {
			if f.Table == "boxes" {
				boxRows += f.Rows
			}
		}
	}
	if mg.runState != nil {
		w, err := mg.writeRunTables(ctx, dir, format)
		if err != nil {
			return nil, err
		}
		written = append(written, w...)
	} else if format == results.FormatParquet {
		w, err := linkTable(mg.parts, "boxes", dir, boxRows)
		if err != nil {
			return nil, err
		}
		written = append(written, w)
	} else {
		files, err := mg.files("boxes")
		if err != nil {
			return nil, err
		}
		w, err := results.CopyQuery(ctx, mg.db, "SELECT * FROM read_parquet("+files+") ORDER BY ship_on, user_id, position", dir, "boxes", format)
		if err != nil {
			return nil, err
		}
		w.Rows = boxRows
		written = append(written, w)
	}
	agg, err := results.Write(ctx, mg.db, results.AggregateTables(out.Result), dir, format)
	if err != nil {
		return nil, err
	}
	written = append(written, agg...)
	if mg.runState == nil {
		files, err := mg.files("short_boxes")
		if err != nil {
			return nil, err
		}
		w, err := results.CopyQuery(ctx, mg.db, "SELECT * FROM read_parquet("+files+") ORDER BY ship_on, user_id", dir, "short_boxes", format)
		if err != nil {
			return nil, err
		}
		var rows int64
		for _, p := range mg.parts {
			rows += int64(p.Manifest.Counts.ShortBoxes)
		}
		w.Rows = rows
		written = append(written, w)

		// The demand of every shard per snack, to split the stock of a run
		// of the same job (plan.QuotaFor).
		var q []string
		for _, p := range mg.parts {
			q = append(q, fmt.Sprintf("SELECT %d AS shard, snack_id, demand FROM read_parquet(%s)", p.Manifest.Shard.Index, duck.Quote(p.File(results.PartDemandTable))))
		}
		w, err = results.CopyQuery(ctx, mg.db, "SELECT shard::INTEGER AS shard, snack_id, sum(demand)::BIGINT AS demand FROM ("+
			strings.Join(q, " UNION ALL ")+") GROUP BY ALL ORDER BY shard, snack_id", dir, ShardDemandTable, format)
		if err != nil {
			return nil, err
		}
		written = append(written, w)
	}
	sort.SliceStable(written, func(i, j int) bool { return tableOrder(written[i].Table) < tableOrder(written[j].Table) })
	return written, nil
}

func tableOrder(t string) int {
	for i, n := range []string{"boxes", "demand", "snack_summary", "short_boxes", "picks", ShardDemandTable, QuotaTable} {
		if n == t {
			return i
		}
	}
	return 99
}

// linkTable makes dir/<table>/ hold every part's file of table, named after
// the part: hard links where the file system allows, else copies. The folder
// appears complete (built hidden, then renamed).
func linkTable(parts []*shard.Part, table, dir string, rows int64) (results.Written, error) {
	final := filepath.Join(dir, table)
	d, err := atomicfs.NewDir(final)
	if err != nil {
		return results.Written{}, err
	}
	defer d.Abort()
	for _, p := range parts {
		src := p.File(table)
		dst := filepath.Join(d.Path, p.Manifest.Shard.PartName()+filepath.Ext(src))
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst); err != nil {
				return results.Written{}, fmt.Errorf("write %s: %w", final, err)
			}
		}
	}
	if err := d.Publish(true); err != nil {
		return results.Written{}, err
	}
	return results.Written{Table: table, File: table + "/", Rows: rows}, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeLeftovers removes the hidden folders killed shard attempts left in
// the parts folders of a merge that succeeded.
func removeLeftovers(args []string) {
	for _, a := range args {
		entries, err := os.ReadDir(a)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() && (strings.HasPrefix(e.Name(), ".tmp-part-") || strings.HasPrefix(e.Name(), ".old-part-")) {
				_ = os.RemoveAll(filepath.Join(a, e.Name()))
			}
		}
	}
}
