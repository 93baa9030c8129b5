package engine

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/shard"
	queries "github.com/assign-dev/assign/sql"
)

// DB is what the engine needs of a database: statements, and queries whose
// results arrive as Arrow record batches. *duck.DB satisfies it.
type DB interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryArrow(ctx context.Context, query string, fn func(rec arrow.RecordBatch) error, args ...any) error
}

// Inputs is everything the per-user work reads, in dense index spaces:
// snacks by sidx (snack_id order), categories by cidx, tags by tidx, shipping
// users by uidx (user_id order). Per-user lists are CSR arrays: the entries
// of user u are [Start[u], Start[u+1]).
type Inputs struct {
	D0   Day
	Days int

	// SidecarRebuild is the path of the snapshot's engine sidecar when it
	// was missing, stale (another load's) or damaged, so these inputs came
	// through SQL: writing it again (RebuildSidecar) lets later jobs read
	// it. Empty when the sidecar was read, or was not wanted (NoSidecar, a
	// policy it does not cover).
	SidecarRebuild string

	Categories []string
	Tags       []string

	// Snacks, by sidx.
	SnackID    []int64
	SnackCat   []int32
	Launched   []Day
	Active     []bool
	PopN       []int64 // latest ratings of the snack
	PopSum     []int64
	TagStart   []int32 // CSR over SnackTag
	SnackTag   []int32
	RatedPairs int64 // all latest ratings in the snapshot
	RatingSum  int64

	// Users shipping in the horizon, by uidx.
	UserID    []int64
	BoxSize   []int32
	ShipStart []int32 // CSR over ShipDay (ascending)
	ShipDay   []Day
	NGStart   []int32 // CSR over NGTag
	NGTag     []int32
	PrefStart []int32 // CSR over PrefCat/PrefWeight
	PrefCat   []int32
	PrefW     []int32
	AffStart  []int32 // CSR over AffCat/AffN/AffSum
	AffCat    []int32
	AffN      []int32
	AffSum    []int64
	BadStart  []int32 // CSR over BadSnack/BadRating
	BadSnack  []int32
	BadRating []int32
	// Deliveries, compact (the largest input: 4 bytes a row): row j is
	// the delivery of snack DelSnack[j] (| DelSnackHi[j]<<16 when there
	// are more than 65,536 snacks; DelSnackHi is nil otherwise) on day
	// DelBase + DelDay[j]. Read them with Delivery.
	DelSegStart []int32 // per user: CSR over DelSegFrom/DelSegTo (see deliveries.go)
	DelSegFrom  []int32 // per segment: its rows [DelSegFrom, DelSegTo)
	DelSegTo    []int32
	DelSnack    []uint16
	DelSnackHi  []uint16
	DelDay      []uint16
	DelBase     Day
	ReqStart    []int32 // CSR over requests, ordered (ReqAt, snack_id) per user
	ReqSnack    []int32
	ReqAt       []int64 // microseconds since the epoch
	ReqDay      []Day   // date(requested_at)

	// Lots, ordered by (sidx, best_before, lot_id as bytes).
	LotSnack  []int32
	LotID     []string
	LotQty    []int32
	LotBefore []Day
}

// ReleaseUserInputs drops what only the choice of boxes reads: the users'
// deliveries, NG tags, preferences, affinities, never-again ratings and
// requests (at 3 million users about a gigabyte). A job calls it once its
// last Run on in is done, so the output is written without them; the
// calendar, box sizes, snacks and lots that the output tables read stay.
// in must not be planned or explained again.
func (in *Inputs) ReleaseUserInputs() {
	in.DelSegStart, in.DelSegFrom, in.DelSegTo = nil, nil, nil
	in.DelSnack, in.DelSnackHi, in.DelDay = nil, nil, nil
	in.NGStart, in.NGTag = nil, nil
	in.PrefStart, in.PrefCat, in.PrefW = nil, nil, nil
	in.AffStart, in.AffCat, in.AffN, in.AffSum = nil, nil, nil, nil
	in.BadStart, in.BadSnack, in.BadRating = nil, nil, nil
	in.ReqStart, in.ReqSnack, in.ReqAt, in.ReqDay = nil, nil, nil, nil
}

// NumSnacks is the number of snacks.
func (in *Inputs) NumSnacks() int { return len(in.SnackID) }

// NumUsers is the number of users shipping in the horizon.
func (in *Inputs) NumUsers() int { return len(in.UserID) }

// LoadOptions selects what LoadInputs reads.
type LoadOptions struct {
	D0     Day
	Days   int
	Policy policy.Policy
	// UserID, when non-zero, restricts the shipping users to this one user
	// (explain). Popularity still uses every rating.
	UserID int64
	// OnlyUser is set when UserID is meaningful (user ids may be 0).
	OnlyUser bool
	// Shard, when sharded, restricts the users to those with
	// shard.Of(user_id, Count) = Index; the filter runs in SQL, so the other
	// users' rows never leave DuckDB. Popularity and stock stay whole.
	Shard shard.Spec
	// Users, when not nil, restricts the users to these ids (the merge's
	// final pass plans a few users again).
	Users []int64
	// CatalogueOnly reads the snacks, their tags and the lots, and no user
	// (a merge needs no more); popularity is left at zero.
	CatalogueOnly bool
	// Logger, when set, receives the time of every input query at debug level.
	Logger *slog.Logger
	// NoSidecar reads every input through SQL, even when the snapshot has
	// an engine sidecar (sidecar.go); tests compare the two paths.
	NoSidecar bool
	// SidecarPath, when set, is the sidecar to read instead of the one
	// beside the snapshot file db has open (store.SidecarPath).
	SidecarPath string
	// Threads is how many goroutines read the sidecar (0: GOMAXPROCS).
	Threads int
	// Side, when set, opens a second connection to db's database, which
	// sees the snapshot's tables unqualified (not db's temp tables); release
	// closes it. The ship calendar's queries run on it beside the catalogue's
	// on db (they read only users and skips) when no filter applies to the
	// users.
	Side func(ctx context.Context) (side DB, release func(), err error)
	// Prefetch, when set, is the snapshot's sidecar read since before db
	// opened (PrefetchSidecar, with the same horizon and policy): its
	// calendar and per-user inputs are taken once the file is found to be
	// the snapshot's, and the ship calendar's queries do not run. The
	// caller closes it after LoadInputs.
	Prefetch *SidecarPrefetch
}

// LoadInputs runs the input SQL in db (which must have the snapshot tables
// reachable unqualified) and gathers the results into Inputs.
func LoadInputs(ctx context.Context, db DB, opt LoadOptions) (*Inputs, error) {
	if opt.Days < 1 {
		return nil, fmt.Errorf("horizon must have at least one day, got %d", opt.Days)
	}
	dend := opt.D0 + Day(opt.Days-1)
	filter, err := userFilter(ctx, db, opt)
	if err != nil {
		return nil, err
	}
	prep := queries.Get("inputs_prepare")
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	in := &Inputs{D0: opt.D0, Days: opt.Days}
	qOn := func(db DB) queryFunc {
		return func(name string, params map[string]string, sinks ...sink) error {
			text := queries.Render(name, params)
			t0 := time.Now()
			defer func() { logger.Debug("engine input", "query", name, "seconds", time.Since(t0).Seconds()) }()
			err := db.QueryArrow(ctx, text, func(rec arrow.RecordBatch) error {
				if int(rec.NumCols()) != len(sinks) {
					return fmt.Errorf("%d columns, want %d", rec.NumCols(), len(sinks))
				}
				for i, s := range sinks {
					if err := s(rec.ColumnName(i), rec.Column(i)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("engine input %s: %w", name, err)
			}
			return nil
		}
	}
	q := qOn(db)

	// The ship calendar reads only users and skips: with a second
	// connection it is computed beside inputs_prepare and the catalogue
	// (15-20 ms of a medium job's start, DuckDB's first queries on one
	// core), else after them. It fills only the users' calendar fields.
	calendar := func(q queryFunc) error {
		t1 := time.Now()
		workers := opt.Threads
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		if err := loadCalendar(q, in, dend, filter, workers); err != nil {
			return err
		}
		logger.Debug("engine input", "query", "calendar", "seconds", time.Since(t1).Seconds(), "users", len(in.UserID), "boxes", len(in.ShipDay))
		return nil
	}
	pre := opt.Prefetch
	if filter != "" || !pre.fits(db, opt) {
		pre = nil
	}
	var calDone chan error
	if pre == nil && opt.Side != nil && filter == "" && !opt.CatalogueOnly {
		calDone = make(chan error, 1)
		go func() {
			side, release, err := opt.Side(ctx)
			if err != nil {
				calDone <- fmt.Errorf("engine input: open a second connection: %w", err)
				return
			}
			defer release()
			calDone <- calendar(qOn(side))
		}()
		defer func() {
			if calDone != nil { // an early return: the calendar still finishes
				<-calDone
			}
		}()
	}

	t0 := time.Now()
	if _, err := db.Exec(ctx, prep); err != nil {
		return nil, fmt.Errorf("prepare engine inputs: %w", err)
	}
	logger.Debug("engine input", "query", "inputs_prepare", "seconds", time.Since(t0).Seconds())

	if err = q("inputs_categories", nil, skip, strs(&in.Categories)); err != nil {
		return nil, err
	}
	if err := q("inputs_tags", nil, skip, strs(&in.Tags)); err != nil {
		return nil, err
	}
	if err := q("inputs_snacks", nil, skip, i64(&in.SnackID), i32(&in.SnackCat), days(&in.Launched), bools(&in.Active)); err != nil {
		return nil, err
	}
	nS := len(in.SnackID)

	var tagSnack, tagTag chunked[int32]
	if err := q("inputs_snack_tags", nil, int32Parts(&tagSnack), int32Parts(&tagTag)); err != nil {
		return nil, err
	}
	start, pos, err := csrPositions(nS, &tagSnack, false)
	if err != nil {
		return nil, err
	}
	in.TagStart, in.SnackTag = start, scatter(&tagTag, pos, start[nS])

	if opt.CatalogueOnly {
		zero := []int32{0}
		in.ShipStart, in.NGStart, in.PrefStart, in.AffStart, in.BadStart, in.ReqStart = zero, zero, zero, zero, zero, zero
		in.PopN, in.PopSum = make([]int64, nS), make([]int64, nS)
		if err := q("inputs_stock", nil, i32(&in.LotSnack), strs(&in.LotID), i32(&in.LotQty), days(&in.LotBefore)); err != nil {
			return nil, err
		}
		sortLots(in)
		return in, nil
	}

	var sidecar *pendingSidecar
	outcome := prefetchUnused
	if pre != nil {
		sidecar, outcome = pre.adopt(ctx, db, in, logger)
	}
	if outcome != prefetchAdopted {
		if calDone != nil {
			err := <-calDone
			calDone = nil
			if err != nil {
				return nil, err
			}
		} else if err := calendar(q); err != nil {
			return nil, err
		}
	}
	nU := len(in.UserID)

	// The deliveries, affinities, never-again ratings, NG tags and
	// preferences come from the snapshot's engine sidecar when it has a
	// valid one (read in the background while the queries below run, or
	// since before db opened: the prefetch), else through SQL.
	switch outcome {
	case prefetchUnused:
		sidecar = startSidecar(ctx, db, in, opt, logger)
	case prefetchDamaged:
		sidecar = &pendingSidecar{}
	}
	defer sidecar.close() // on an early return, the reader still finishes

	// The queries the sidecar replaces join eng_users, made in SQL only
	// when one of them runs.
	sqlUsers := false
	needSQLUsers := func() error {
		if sqlUsers {
			return nil
		}
		sqlUsers = true
		t0 := time.Now()
		prep := queries.Render("inputs_prepare_users", map[string]string{"d0": opt.D0.String(), "dend": dend.String(), "user_filter": filter})
		if _, err := db.Exec(ctx, prep); err != nil {
			return fmt.Errorf("prepare engine inputs: %w", err)
		}
		var n []int64
		if err := q("inputs_count_users", nil, i64(&n)); err != nil {
			return err
		}
		if len(n) != 1 || n[0] != int64(nU) {
			return fmt.Errorf("engine input: the ship calendar has %d users, inputs_prepare_users %v", nU, n)
		}
		logger.Debug("engine input", "query", "inputs_prepare_users", "seconds", time.Since(t0).Seconds())
		return nil
	}

	// grouped runs a query whose first column is uidx (byUser: user_id,
	// whose rows of users that do not ship are left out) and groups the
	// other columns by it (CSR); each fill receives the places of the rows
	// and how many are kept.
	groupedBy := func(byUser bool, name string, params map[string]string, sinks []sink, fill func(pos []int32, n int32)) (start []int32, err error) {
		var keys chunked[int32]
		key := int32Parts(&keys)
		if byUser {
			key = uidxParts(&keys, in.UserID)
		}
		if err := q(name, params, append([]sink{key}, sinks...)...); err != nil {
			return nil, err
		}
		start, pos, err := csrPositions(nU, &keys, byUser)
		if err != nil {
			return nil, fmt.Errorf("engine input %s: %w", name, err)
		}
		fill(pos, start[nU])
		return start, nil
	}
	grouped := func(name string, params map[string]string, sinks []sink, fill func(pos []int32, n int32)) ([]int32, error) {
		return groupedBy(false, name, params, sinks, fill)
	}
	byUser := func(name string, params map[string]string, sinks []sink, fill func(pos []int32, n int32)) ([]int32, error) {
		return groupedBy(true, name, params, sinks, fill)
	}

	ngPrefs := func() error {
		var ngTag chunked[int32]
		if in.NGStart, err = byUser("inputs_user_ng", nil, []sink{int32Parts(&ngTag)}, func(pos []int32, n int32) {
			in.NGTag = scatter(&ngTag, pos, n)
		}); err != nil {
			return err
		}
		var prefCat, prefW chunked[int32]
		if in.PrefStart, err = byUser("inputs_prefs", nil, []sink{int32Parts(&prefCat), int32Parts(&prefW)}, func(pos []int32, n int32) {
			in.PrefCat, in.PrefW = scatter(&prefCat, pos, n), scatter(&prefW, pos, n)
		}); err != nil {
			return err
		}
		return nil
	}
	if !sidecar.started {
		if err := ngPrefs(); err != nil {
			return nil, err
		}
	}

	// With a sidecar, the requests come without the test against the
	// snapshot's deliveries (a scan of every delivery row in SQL), which
	// the sidecar's rows then answer.
	requests := func(name string) error {
		var reqSnack chunked[int32]
		var reqAt chunked[int64]
		var reqDay chunked[Day]
		group := byUser
		if name == "inputs_requests" {
			if err := needSQLUsers(); err != nil {
				return err
			}
			group = grouped
		}
		if in.ReqStart, err = group(name, map[string]string{"dend": dend.String()},
			[]sink{int32Parts(&reqSnack), int64Parts(&reqAt), dayParts(&reqDay)}, func(pos []int32, n int32) {
				in.ReqSnack, in.ReqAt, in.ReqDay = scatter(&reqSnack, pos, n), scatter(&reqAt, pos, n), scatter(&reqDay, pos, n)
			}); err != nil {
			return err
		}
		sortEach(in.ReqStart, func(a, b int) bool {
			if in.ReqAt[a] != in.ReqAt[b] {
				return in.ReqAt[a] < in.ReqAt[b]
			}
			return in.ReqSnack[a] < in.ReqSnack[b]
		}, in.ReqSnack, in.ReqAt, in.ReqDay)
		return nil
	}
	reqQuery := "inputs_requests"
	if sidecar.started {
		reqQuery = "inputs_requests_all"
	}
	if err := requests(reqQuery); err != nil {
		return nil, err
	}
	if reqQuery == "inputs_requests_all" {
		sidecar.closeEarly(in)
	}

	if err := q("inputs_stock", nil, i32(&in.LotSnack), strs(&in.LotID), i32(&in.LotQty), days(&in.LotBefore)); err != nil {
		return nil, err
	}
	fromSidecar := sidecar.wait()
	if fromSidecar && reqQuery != "inputs_requests" {
		t1 := time.Now()
		if err := sidecar.openRequests(in); err != nil {
			logger.Warn("engine sidecar damaged: inputs read through SQL", "path", sidecar.path, "err", err)
			in.SidecarRebuild = sidecar.path
			fromSidecar = false
		}
		logger.Debug("engine input", "query", "sidecar requests", "seconds", time.Since(t1).Seconds())
	}
	if !fromSidecar && reqQuery != "inputs_requests" {
		if err := requests("inputs_requests"); err != nil {
			return nil, err
		}
	}
	if !fromSidecar && sidecar.started {
		if err := ngPrefs(); err != nil {
			return nil, err
		}
	}
	if !fromSidecar {
		if err := needSQLUsers(); err != nil {
			return nil, err
		}
	}
	if err := loadRatingInputs(ctx, db, in, opt, q, grouped, logger, !fromSidecar); err != nil {
		return nil, err
	}
	for _, n := range in.PopN {
		in.RatedPairs += n
	}
	for _, s := range in.PopSum {
		in.RatingSum += s
	}

	if !fromSidecar {
		t1 := time.Now()
		// With a user filter the bound counts only the kept users' rows (a
		// semi-join): the whole table's count would size the arrays for every
		// shard at once.
		users := ""
		if filter != "" {
			users = "AND d.user_id IN (SELECT user_id FROM eng_users)"
		}
		if err := loadDeliveries(ctx, db, in, opt.D0-Day(opt.Policy.RepeatWindowDays), map[string]string{"d0": opt.D0.String(), "dend": dend.String(), "window": strconv.Itoa(opt.Policy.RepeatWindowDays), "users": users}, opt.Shard.Sharded()); err != nil {
			return nil, err
		}
		logger.Debug("engine input", "query", "inputs_deliveries", "seconds", time.Since(t1).Seconds(), "segments", len(in.DelSegFrom))
	}

	sortLots(in)
	return in, nil
}

// userFilter returns the predicate on users of inputs_prepare for opt,
// preparing what it needs (the shard macros, a temp table of user ids).
func userFilter(ctx context.Context, db DB, opt LoadOptions) (string, error) {
	filter := ""
	if opt.OnlyUser {
		filter += " AND user_id = " + strconv.FormatInt(opt.UserID, 10)
	}
	if opt.Shard.Sharded() {
		if _, err := db.Exec(ctx, shard.SQLMacros); err != nil {
			return "", fmt.Errorf("prepare shard filter: %w", err)
		}
		filter += fmt.Sprintf(" AND assign_shard(user_id, %d) = %d", opt.Shard.Count, opt.Shard.Index)
	}
	if opt.CatalogueOnly {
		filter += " AND false"
	}
	if opt.Users != nil {
		if _, err := db.Exec(ctx, "CREATE OR REPLACE TEMP TABLE eng_only_users (user_id BIGINT)"); err != nil {
			return "", fmt.Errorf("prepare user list: %w", err)
		}
		const chunk = 20000
		for lo := 0; lo < len(opt.Users); lo += chunk {
			var b strings.Builder
			b.WriteString("INSERT INTO eng_only_users SELECT unnest([")
			for i, id := range opt.Users[lo:min(lo+chunk, len(opt.Users))] {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.FormatInt(id, 10))
			}
			b.WriteString("]::BIGINT[])")
			if _, err := db.Exec(ctx, b.String()); err != nil {
				return "", fmt.Errorf("prepare user list: %w", err)
			}
		}
		filter += " AND user_id IN (SELECT user_id FROM eng_only_users)"
	}
	return filter, nil
}

// queryFunc runs one input query into sinks; groupedFunc runs one whose
// first column is uidx and groups the rest by it.
type (
	queryFunc   func(name string, params map[string]string, sinks ...sink) error
	groupedFunc func(name string, params map[string]string, sinks []sink, fill func(pos []int32, n int32)) ([]int32, error)
)

// loadRatingInputs fills PopN, PopSum and, when perUser, the affinity CSR
// and the never-again CSR from the snapshot's derived tables (see
// derive.go), or from temp tables derived now when the snapshot predates
// them.
func loadRatingInputs(ctx context.Context, db DB, in *Inputs, opt LoadOptions, q queryFunc, grouped groupedFunc, logger *slog.Logger, perUser bool) error {
	t0 := time.Now()
	have, err := snapshotHasDerived(ctx, db)
	if err != nil {
		return err
	}
	latest, userCat, snackRat := LatestRatingsTable, UserCategoryRatingsTable, SnackRatingsTable
	if !have {
		if latest, userCat, snackRat, err = createDerivedTemp(ctx, db); err != nil {
			return err
		}
		logger.Debug("engine input", "query", "derived temp tables", "seconds", time.Since(t0).Seconds())
	}
	nS := in.NumSnacks()
	in.PopN, in.PopSum = make([]int64, nS), make([]int64, nS)
	var sidx []int32
	var n, total []int64
	if err := q("inputs_popularity", map[string]string{"snack_ratings": snackRat}, i32(&sidx), i64(&n), i64(&total)); err != nil {
		return err
	}
	for i, s := range sidx {
		in.PopN[s], in.PopSum[s] = n[i], total[i]
	}
	if !perUser {
		return nil
	}

	var affCat, affN chunked[int32]
	var affSum chunked[int64]
	if in.AffStart, err = grouped("inputs_affinity", map[string]string{"user_category_ratings": userCat},
		[]sink{int32Parts(&affCat), int32Parts(&affN), int64Parts(&affSum)}, func(pos []int32, n int32) {
			in.AffCat, in.AffN, in.AffSum = scatter(&affCat, pos, n), scatter(&affN, pos, n), scatter(&affSum, pos, n)
		}); err != nil {
		return err
	}
	var badSnack, badRating chunked[int32]
	if in.BadStart, err = grouped("inputs_bad_ratings", map[string]string{"never_again": strconv.Itoa(opt.Policy.NeverAgainRating), "latest": latest},
		[]sink{int32Parts(&badSnack), int32Parts(&badRating)}, func(pos []int32, n int32) {
			in.BadSnack, in.BadRating = scatter(&badSnack, pos, n), scatter(&badRating, pos, n)
		}); err != nil {
		return err
	}
	return nil
}

// sink consumes one column of every batch of a query.
type sink func(name string, a arrow.Array) error

func skip(string, arrow.Array) error { return nil }

func i32(dst *[]int32) sink {
	return func(name string, a arrow.Array) (err error) { *dst, err = appendInt32(*dst, name, a); return }
}

func i64(dst *[]int64) sink {
	return func(name string, a arrow.Array) (err error) { *dst, err = appendInt64(*dst, name, a); return }
}

func days(dst *[]Day) sink {
	return func(name string, a arrow.Array) error {
		v, err := appendInt32(nil, name, a)
		for _, x := range v {
			*dst = append(*dst, Day(x))
		}
		return err
	}
}

func bools(dst *[]bool) sink {
	return func(name string, a arrow.Array) (err error) { *dst, err = appendBool(*dst, name, a); return }
}

func strs(dst *[]string) sink {
	return func(name string, a arrow.Array) (err error) { *dst, err = appendString(*dst, name, a); return }
}

// sortEach sorts every CSR group by less (indexes into the arrays), moving
// the entries of all arrays together. Groups are small (a user's dates or
// requests), so insertion sort is the right tool.
func sortEach(start []int32, less func(a, b int) bool, arrays ...any) {
	for g := 0; g+1 < len(start); g++ {
		lo, hi := int(start[g]), int(start[g+1])
		for i := lo + 1; i < hi; i++ {
			for j := i; j > lo && less(j, j-1); j-- {
				for _, arr := range arrays {
					swapAny(arr, j, j-1)
				}
			}
		}
	}
}

func swapAny(arr any, i, j int) {
	switch a := arr.(type) {
	case []int32:
		a[i], a[j] = a[j], a[i]
	case []int64:
		a[i], a[j] = a[j], a[i]
	case []Day:
		a[i], a[j] = a[j], a[i]
	default:
		panic(fmt.Sprintf("swapAny: unsupported %T", arr))
	}
}

// sortLots puts lots in FEFO order per snack: (sidx, best_before, lot_id)
// with lot_id compared as a plain byte string, whatever DuckDB's collation.
func sortLots(in *Inputs) {
	n := len(in.LotSnack)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if in.LotSnack[a] != in.LotSnack[b] {
			return int(in.LotSnack[a] - in.LotSnack[b])
		}
		if in.LotBefore[a] != in.LotBefore[b] {
			return int(in.LotBefore[a] - in.LotBefore[b])
		}
		switch {
		case in.LotID[a] < in.LotID[b]:
			return -1
		case in.LotID[a] > in.LotID[b]:
			return 1
		}
		return 0
	})
	snack, id, qty, bb := make([]int32, n), make([]string, n), make([]int32, n), make([]Day, n)
	for i, j := range idx {
		snack[i], id[i], qty[i], bb[i] = in.LotSnack[j], in.LotID[j], in.LotQty[j], in.LotBefore[j]
	}
	in.LotSnack, in.LotID, in.LotQty, in.LotBefore = snack, id, qty, bb
}

// SortLots restores the FEFO order of the lots after a caller changed them
// (a what-if scenario adds lots): (sidx, best_before, lot_id as bytes).
func (in *Inputs) SortLots() { sortLots(in) }
