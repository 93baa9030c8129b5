package merge

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
)

// runState is what the merge of a run keeps for writing and the manifest.
type runState struct {
	// quota is, per shard and lot, the units the shard could use.
	quota [][]int32
	// topped are the boxes the final pass changed, as rows of boxes.
	topped []toppedRow
	pass   plan.FinalPass
	// perDate adjusts the parts' per-date counts: boxes that were empty and
	// got lines, short boxes that became full.
	newBoxes, fixedShort map[engine.Day]int
	lotIndex             map[[2]string]int32
}

type toppedRow struct {
	day    engine.Day
	user   int64
	snacks []int64
	lots   []string
	scores []float64
	req    []bool
}

// run merges the parts of a sharded run: the shards' takes from every lot
// are summed, the units no shard took go to the short boxes in the final
// pass (engine.FinalPass), and demand is the sum of the parts' plus what
// the pass added (in run mode every unit is covered).
func (mg *merger) run(ctx context.Context, stage func(string), lap func(string)) (*Outcome, error) {
	in := mg.in
	p := mg.parts[0].Manifest.Policy
	rs := &runState{newBoxes: map[engine.Day]int{}, fixedShort: map[engine.Day]int{}, lotIndex: map[[2]string]int32{}}
	mg.runState = rs
	for l, id := range in.LotID {
		rs.lotIndex[[2]string{fmt.Sprint(in.SnackID[in.LotSnack[l]]), id}] = int32(l)
	}
	stage("reading the stock quota")
	if err := mg.readQuota(ctx); err != nil {
		return nil, err
	}
	stage("summing the shards' stock")
	demand, err := mg.sumDemand(ctx)
	if err != nil {
		return nil, err
	}
	taken := make([][]int32, in.Days)
	for di := range taken {
		taken[di] = make([]int32, len(in.LotQty))
	}
	files, err := mg.files("picks")
	if err != nil {
		return nil, err
	}
	rows, err := mg.db.Query(ctx, `SELECT ship_on, snack_id::VARCHAR, lot_id, sum(units)::BIGINT FROM read_parquet(`+files+`) GROUP BY ALL`)
	if err != nil {
		return nil, fmt.Errorf("read the parts' picks: %w", duck.Clean(err))
	}
	for rows.Next() {
		var d time.Time
		var snack, lot string
		var n int64
		if err := rows.Scan(&d, &snack, &lot, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the parts' picks: %w", duck.Clean(err))
		}
		l, ok := rs.lotIndex[[2]string{snack, lot}]
		di := int(engine.DayOf(d) - in.D0)
		if !ok || di < 0 || di >= in.Days {
			rows.Close()
			return nil, fmt.Errorf("the parts took units of lot %s of snack %s on %s, which the snapshot or the horizon does not have: a part is damaged", lot, snack, d.Format("2006-01-02"))
		}
		taken[di][l] += int32(n)
	}
	rows.Close()
	leftover := slices.Clone(in.LotQty)
	for _, t := range taken {
		for l, n := range t {
			leftover[l] -= n
		}
	}
	for l, n := range leftover {
		if n < 0 {
			return nil, fmt.Errorf("the parts took %d units more than lot %s of snack %d holds: their stock quotas do not add up; plan the shards again from one --quota-from", -n, in.LotID[l], in.SnackID[in.LotSnack[l]])
		}
		rs.pass.UnitsLeftover += int64(n)
	}
	lap("stock")

	stage("final pass")
	shortIDs, err := mg.shortUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, pm := range mg.parts {
		rs.pass.ShortBefore += pm.Manifest.Counts.ShortBoxes
	}
	if len(shortIDs) > 0 && rs.pass.UnitsLeftover > 0 {
		if err := mg.finalPass(ctx, shortIDs, leftover, demand, taken); err != nil {
			return nil, err
		}
	}
	rs.pass.ShortAfter = rs.pass.ShortBefore
	for _, n := range rs.fixedShort {
		rs.pass.ShortAfter -= n
	}
	lap("final_pass")

	res := &engine.Result{Inputs: in, Policy: p, Mode: engine.Assign, Demand: demand, LotTaken: taken, Timings: map[string]time.Duration{}}
	res.Dates = make([]engine.DateBoxes, in.Days)
	res.Covered = make([][]int32, in.Days)
	for di := range res.Dates {
		res.Dates[di].Day = in.D0 + engine.Day(di)
		res.Covered[di] = slices.Clone(demand[di])
	}
	res.StockUsable = engine.StockUsable(in, p.MinShelfDays)
	res.LotLeft = leftover
	out := &Outcome{Result: res}
	if err := mg.db.QueryRow(ctx, `SELECT coalesce(sum(score), 0) FROM read_parquet(`+mustFiles(mg, "boxes")+`)`).Scan(&out.Score); err != nil {
		return nil, fmt.Errorf("read the parts' boxes: %w", duck.Clean(err))
	}
	out.Score += rs.pass.ScoreAdded
	return out, nil
}

func mustFiles(mg *merger, table string) string {
	f, _ := mg.files(table)
	return f
}

// shortUsers lists the users with a short box in some part.
func (mg *merger) shortUsers(ctx context.Context) ([]int64, error) {
	files, err := mg.files("short_boxes")
	if err != nil {
		return nil, err
	}
	rows, err := mg.db.Query(ctx, `SELECT DISTINCT user_id FROM read_parquet(`+files+`) ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("read the parts' short boxes: %w", duck.Clean(err))
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, duck.Clean(err)
		}
		ids = append(ids, id)
	}
	return ids, duck.Clean(rows.Err())
}

// finalPass reads the short users' inputs and every box of theirs, runs
// engine.FinalPass and adds what it took to demand and taken.
func (mg *merger) finalPass(ctx context.Context, ids []int64, leftover []int32, demand, taken [][]int32) error {
	cat := mg.in
	rs := mg.runState
	p := mg.parts[0].Manifest.Policy
	in, err := engine.LoadInputs(ctx, mg.db, engine.LoadOptions{D0: cat.D0, Days: cat.Days, Policy: p, Users: ids, Logger: mg.req.Logger})
	if err != nil {
		return err
	}
	if !slices.Equal(in.LotID, cat.LotID) || !slices.Equal(in.SnackID, cat.SnackID) {
		return fmt.Errorf("final pass: the snapshot's lots or snacks read differently twice")
	}
	uidx := make(map[int64]int32, in.NumUsers())
	for u, id := range in.UserID {
		uidx[id] = int32(u)
	}
	sidx := make(map[int64]int32, in.NumSnacks())
	for s, id := range in.SnackID {
		sidx[id] = int32(s)
	}
	planned := make([][]engine.PlannedBox, in.NumUsers())
	slot := map[[2]int64]int{} // (user, day) -> index in planned[u]
	for u := range planned {
		for j := in.ShipStart[u]; j < in.ShipStart[u+1]; j++ {
			slot[[2]int64{in.UserID[u], int64(in.ShipDay[j])}] = int(j - in.ShipStart[u])
		}
		planned[u] = make([]engine.PlannedBox, in.ShipStart[u+1]-in.ShipStart[u])
	}
	files, err := mg.files("boxes")
	if err != nil {
		return err
	}
	rows, err := mg.db.Query(ctx, `SELECT ship_on, user_id, snack_id, lot_id, score, requested FROM read_parquet(`+files+`)
		WHERE user_id IN (SELECT user_id FROM eng_only_users) ORDER BY user_id, ship_on, position`)
	if err != nil {
		return fmt.Errorf("read the short users' boxes: %w", duck.Clean(err))
	}
	for rows.Next() {
		var d time.Time
		var user, snack int64
		var lot string
		var score float64
		var req bool
		if err := rows.Scan(&d, &user, &snack, &lot, &score, &req); err != nil {
			rows.Close()
			return fmt.Errorf("read the short users' boxes: %w", duck.Clean(err))
		}
		day := engine.DayOf(d)
		u, ok1 := uidx[user]
		k, ok2 := slot[[2]int64{user, int64(day)}]
		s, ok3 := sidx[snack]
		l, ok4 := rs.lotIndex[[2]string{fmt.Sprint(snack), lot}]
		if !ok1 || !ok2 || !ok3 || !ok4 {
			rows.Close()
			return fmt.Errorf("a part has a box line (user %d, %s, snack %d, lot %s) that the snapshot does not explain: a part is damaged or was planned otherwise", user, d.Format("2006-01-02"), snack, lot)
		}
		b := &planned[u][k]
		b.Snack, b.Score, b.Requested, b.Lot = append(b.Snack, s), append(b.Score, score), append(b.Requested, req), append(b.Lot, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return duck.Clean(err)
	}
	fp, err := engine.FinalPass(in, p, planned, leftover)
	if err != nil {
		return err
	}
	for _, tu := range fp.Boxes {
		day := in.D0 + engine.Day(tu.Date)
		before := tu.Box.Len() - tu.Added
		size := in.BoxSize[tu.User]
		if before == 0 {
			rs.newBoxes[day]++
		}
		if tu.Box.Len() == int(size) {
			rs.fixedShort[day]++
		}
		rs.pass.BoxesTopped++
		rs.pass.LinesAdded += int64(tu.Added)
		rs.pass.ScoreAdded += tu.ScoreAdded
		row := toppedRow{day: day, user: in.UserID[tu.User]}
		for j, s := range tu.Box.Snack {
			row.snacks = append(row.snacks, in.SnackID[s])
			row.lots = append(row.lots, in.LotID[tu.Box.Lot[j]])
		}
		row.scores, row.req = tu.Box.Score, tu.Box.Requested
		rs.topped = append(rs.topped, row)
	}
	for di, t := range fp.Taken {
		for l, n := range t {
			if n > 0 {
				taken[di][l] += n
				leftover[l] -= n
				demand[di][in.LotSnack[l]] += n
			}
		}
	}
	return nil
}

var toppedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ship_on", Type: arrow.FixedWidthTypes.Date32},
	{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "position", Type: arrow.PrimitiveTypes.Int32},
	{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "lot_id", Type: arrow.BinaryTypes.String},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	{Name: "requested", Type: arrow.FixedWidthTypes.Boolean},
}, nil)

// writeRunTables writes boxes and short_boxes of a merged run: the parts'
// rows with the boxes of the final pass in place of the ones it changed,
// one file each in the SPEC's order.
func (mg *merger) writeRunTables(ctx context.Context, dir, format string) ([]results.Written, error) {
	rs := mg.runState
	b := array.NewRecordBuilder(memory.DefaultAllocator, toppedSchema)
	defer b.Release()
	for _, r := range rs.topped {
		for j := range r.snacks {
			b.Field(0).(*array.Date32Builder).Append(arrow.Date32(r.day))
			b.Field(1).(*array.Int64Builder).Append(r.user)
			b.Field(2).(*array.Int32Builder).Append(int32(j + 1))
			b.Field(3).(*array.Int64Builder).Append(r.snacks[j])
			b.Field(4).(*array.StringBuilder).Append(r.lots[j])
			b.Field(5).(*array.Float64Builder).Append(r.scores[j])
			b.Field(6).(*array.BooleanBuilder).Append(r.req[j])
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, err := array.NewRecordReader(toppedSchema, []arrow.RecordBatch{rec})
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	if err := mg.db.CreateTableFromArrow(ctx, "memory.main.merge_topped", rr, ""); err != nil {
		return nil, fmt.Errorf("final pass boxes: %w", duck.Clean(err))
	}
	boxes, err := mg.files("boxes")
	if err != nil {
		return nil, err
	}
	shorts, err := mg.files("short_boxes")
	if err != nil {
		return nil, err
	}
	var out []results.Written
	w, err := results.CopyQuery(ctx, mg.db, `SELECT * FROM (
		SELECT b.* FROM read_parquet(`+boxes+`) b
		ANTI JOIN (SELECT DISTINCT ship_on, user_id FROM memory.main.merge_topped) t USING (ship_on, user_id)
		UNION ALL
		SELECT ship_on, user_id, position, snack_id, lot_id, score, requested FROM memory.main.merge_topped)
		ORDER BY ship_on, user_id, position`, dir, "boxes", format)
	if err != nil {
		return nil, err
	}
	for _, p := range mg.parts {
		w.Rows += p.Manifest.Counts.BoxLines
	}
	w.Rows += rs.pass.LinesAdded
	out = append(out, w)
	w, err = results.CopyQuery(ctx, mg.db, `SELECT s.ship_on, s.user_id, s.box_size, coalesce(t.filled, s.filled)::INTEGER AS filled
		FROM read_parquet(`+shorts+`) s
		LEFT JOIN (SELECT ship_on, user_id, count(*) AS filled FROM memory.main.merge_topped GROUP BY ALL) t USING (ship_on, user_id)
		WHERE coalesce(t.filled, s.filled) < s.box_size
		ORDER BY s.ship_on, s.user_id`, dir, "short_boxes", format)
	if err != nil {
		return nil, err
	}
	w.Rows = int64(rs.pass.ShortAfter)
	out = append(out, w)
	w, err = mg.writeQuota(ctx, dir, format)
	if err != nil {
		return nil, err
	}
	out = append(out, w)
	return out, nil
}

// QuotaTable is the extra table of a merged run: the units of every lot each
// shard could use (shard INTEGER, snack_id BIGINT, lot_id VARCHAR, units
// INTEGER; zero shares left out). assign check judges a shard's boxes
// against the stock its shard had.
const QuotaTable = "quotas"

// readQuota recomputes every shard's quota from the quota source the parts
// name (a merged preassign of this home) and checks it is the same one.
func (mg *merger) readQuota(ctx context.Context) error {
	m0 := mg.parts[0].Manifest
	if m0.Quota == nil {
		return fmt.Errorf("the run parts name no stock quota: they were not planned with --quota-from")
	}
	q, err := plan.QuotaFor(ctx, mg.db, mg.home, m0.Quota.Run, m0.Snapshot.Name, m0.Snapshot.Fingerprint, m0.Shard)
	if err != nil {
		return fmt.Errorf("the parts' stock quota came from run %s: %w", m0.Quota.Run, err)
	}
	if q.Ref.Digest != m0.Quota.Digest {
		return fmt.Errorf("the parts' stock quota came from run %s, whose shard_demand has changed since (digest %.12s, the parts say %.12s)", m0.Quota.Run, q.Ref.Digest, m0.Quota.Digest)
	}
	rs := mg.runState
	rs.quota = make([][]int32, m0.Shard.Count)
	for i := range rs.quota {
		rs.quota[i] = q.Lots(mg.in, shard.Spec{Index: i, Count: m0.Shard.Count})
	}
	return nil
}

var quotaSchema = arrow.NewSchema([]arrow.Field{
	{Name: "shard", Type: arrow.PrimitiveTypes.Int32},
	{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "lot_id", Type: arrow.BinaryTypes.String},
	{Name: "units", Type: arrow.PrimitiveTypes.Int32},
}, nil)

// writeQuota writes the quotas table.
func (mg *merger) writeQuota(ctx context.Context, dir, format string) (results.Written, error) {
	in := mg.in
	b := array.NewRecordBuilder(memory.DefaultAllocator, quotaSchema)
	defer b.Release()
	var rows int64
	for i, q := range mg.runState.quota {
		for l, n := range q {
			if n > 0 {
				b.Field(0).(*array.Int32Builder).Append(int32(i))
				b.Field(1).(*array.Int64Builder).Append(in.SnackID[in.LotSnack[l]])
				b.Field(2).(*array.StringBuilder).Append(in.LotID[l])
				b.Field(3).(*array.Int32Builder).Append(n)
				rows++
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, err := array.NewRecordReader(quotaSchema, []arrow.RecordBatch{rec})
	if err != nil {
		return results.Written{}, err
	}
	defer rr.Release()
	if err := mg.db.CreateTableFromArrow(ctx, "memory.main.merge_quota", rr, ""); err != nil {
		return results.Written{}, fmt.Errorf("stock quotas: %w", duck.Clean(err))
	}
	w, err := results.CopyQuery(ctx, mg.db, "SELECT * FROM memory.main.merge_quota ORDER BY shard, snack_id, lot_id", dir, QuotaTable, format)
	w.Rows = rows
	return w, err
}
