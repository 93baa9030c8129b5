package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// loadCalendar fills in.UserID, in.BoxSize, in.ShipStart and in.ShipDay:
// the users that ship at least once in [D0, dend] in user_id order (uidx)
// and their ship dates, ascending (SPEC section 4): an active user ships on
// D >= next_ship_on with (D - next_ship_on) mod cadence_days = 0, unless
// (user, D) is skipped. filter is inputs_calendar's predicate on users.
//
// It is computed here from the users' rows rather than in SQL
// (inputs_prepare_users, which the fallback queries still read): the
// calendar's unnest, anti-join and numbering took 0.35 s of a medium job's
// 2 s, serially, for what is a loop over 255,000 rows.
func loadCalendar(q queryFunc, in *Inputs, dend Day, filter string, workers int) error {
	var count []int64
	if err := q("inputs_calendar_count", map[string]string{"user_filter": filter}, i64(&count)); err != nil {
		return err
	}
	if len(count) != 1 {
		return fmt.Errorf("engine input inputs_calendar_count: %d rows, want 1", len(count))
	}
	// The count is a capacity only: the rows are what the query returns.
	n := int(min(max(count[0], 0), 1<<31))
	ids, box, cadence, next := make([]int64, 0, n), make([]int32, 0, n), make([]int32, 0, n), make([]Day, 0, n)
	if err := q("inputs_calendar", map[string]string{"user_filter": filter}, i64(&ids), i32(&box), i32(&cadence), days(&next)); err != nil {
		return err
	}
	var skipUser []int64
	var skipDay []Day
	if err := q("inputs_skips", map[string]string{"d0": in.D0.String(), "dend": dend.String()}, i64(&skipUser), days(&skipDay)); err != nil {
		return err
	}
	// The skips in (user_id, day) order, walked beside the users (in
	// user_id order below) and their dates (ascending): a lookup per ship
	// date in a map of (user, day) was most of the calendar's Go time at
	// large (4 M dates).
	skips := make([]userDay, len(skipUser))
	for i, id := range skipUser {
		skips[i] = userDay{id, skipDay[i]}
	}
	slices.SortFunc(skips, func(a, b userDay) int {
		if a.id != b.id {
			return cmp.Compare(a.id, b.id)
		}
		return cmp.Compare(a.day, b.day)
	})
	// The rows in user_id order: as they come (the snapshot stores users
	// in that order), else through order.
	var order []int32
	if !slices.IsSorted(ids) {
		order = make([]int32, len(ids))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(a, b int32) int {
			switch {
			case ids[a] < ids[b]:
				return -1
			case ids[a] > ids[b]:
				return 1
			}
			return 0
		})
	}
	r := &calRows{ids: ids, box: box, cadence: cadence, next: next, order: order, skips: skips, d0: in.D0, dend: dend}
	return r.fill(in, workers)
}

// fill sets in.UserID, in.BoxSize, in.ShipStart and in.ShipDay from the
// rows, on up to workers goroutines.
func (r *calRows) fill(in *Inputs, workers int) error {
	ids := r.ids
	// Two passes over ranges of the rows in user_id order, one goroutine
	// per range: the first counts each range's shipping users and dates,
	// the second writes them where the counts before it say, so the arrays
	// are allocated once, at their size, and filled on every core.
	parts := 1
	if workers > 1 {
		parts = max(1, min(workers, len(ids)/calendarPartRows))
	}
	users, dates, errs := make([]int, parts), make([]int, parts), make([]error, parts)
	lo := func(p int) int { return p * len(ids) / parts }
	each := func(f func(p int)) {
		if parts == 1 {
			f(0)
			return
		}
		var wg sync.WaitGroup
		for p := range parts {
			wg.Go(func() { f(p) })
		}
		wg.Wait()
	}
	each(func(p int) { users[p], dates[p], errs[p] = r.walk(lo(p), lo(p+1), nil, 0, 0) })
	uoff, doff := make([]int, parts+1), make([]int, parts+1)
	for p := range parts {
		if errs[p] != nil {
			return errs[p] // the first duplicate in user_id order
		}
		uoff[p+1], doff[p+1] = uoff[p]+users[p], doff[p]+dates[p]
	}
	if doff[parts] > math.MaxInt32 {
		return fmt.Errorf("engine input inputs_calendar: %d ship dates, more than the engine indexes", doff[parts])
	}
	in.UserID, in.BoxSize = make([]int64, uoff[parts]), make([]int32, uoff[parts])
	in.ShipStart, in.ShipDay = make([]int32, uoff[parts]+1), make([]Day, doff[parts])
	each(func(p int) { r.walk(lo(p), lo(p+1), in, uoff[p], doff[p]) })
	return nil
}

// calendarPartRows is the fewest users' rows a calendar goroutine takes
// (a variable for the tests).
var calendarPartRows = 16 << 10

// calRows are the users' rows of the calendar (order: their user_id order,
// nil when they come in it) and the skips in (user_id, day) order.
type calRows struct {
	ids          []int64
	box, cadence []int32
	next         []Day
	order        []int32
	skips        []userDay
	d0, dend     Day
}

// userDay is a skipped ship date.
type userDay struct {
	id  int64
	day Day
}

func (r *calRows) row(k int) int {
	if r.order != nil {
		return int(r.order[k])
	}
	return k
}

// walk visits the rows [lo, hi) in user_id order, counting the users that
// ship in [d0, dend] and their dates, ascending; with in set it writes
// them too, the users from uidx uoff and the dates from doff (ShipStart
// of each user's successor). A user_id on two rows is an error.
func (r *calRows) walk(lo, hi int, in *Inputs, uoff, doff int) (users, dates int, err error) {
	if lo >= hi {
		return 0, 0, nil
	}
	skips, dend := r.skips, r.dend
	first := r.ids[r.row(lo)]
	sk := sort.Search(len(skips), func(j int) bool { return skips[j].id >= first }) // the first skip not before the user's dates
	for k := lo; k < hi; k++ {
		i := r.row(k)
		id := r.ids[i]
		if k > 0 && r.ids[r.row(k-1)] == id {
			return 0, 0, fmt.Errorf("engine input inputs_calendar: user %d has two rows (users.user_id must be unique)", id)
		}
		c := Day(r.cadence[i])
		if c <= 0 {
			// No schedule (the loader allows 1..90 only; SQL's integer
			// division by zero is NULL, which ships nothing either).
			continue
		}
		for sk < len(skips) && skips[sk].id < id {
			sk++
		}
		n := dates
		for d := firstShip(r.next[i], c, r.d0); d <= dend; d += c {
			for sk < len(skips) && skips[sk].id == id && skips[sk].day < d {
				sk++
			}
			if sk < len(skips) && skips[sk] == (userDay{id, d}) {
				continue // skipped
			}
			if in != nil {
				in.ShipDay[doff+dates] = d
			}
			dates++
		}
		if dates > n {
			if in != nil {
				in.UserID[uoff+users] = id
				in.BoxSize[uoff+users] = r.box[i]
				in.ShipStart[uoff+users+1] = int32(doff + dates)
			}
			users++
		}
	}
	return users, dates, nil
}

// firstShip is the first ship date not before d0 of a schedule from next
// every c > 0 days.
func firstShip(next, c, d0 Day) Day {
	if next < d0 {
		next += (d0 - next + c - 1) / c * c
	}
	return next
}

// uidxOf maps user ids to uidx (in.UserID is ascending), fastest when the
// ids come in ascending order, as the snapshot's tables store them.
type uidxOf struct {
	ids  []int64
	next int // where the previous id was found, plus one
}

// find returns the uidx of id, or -1 when id does not ship in the horizon.
// The rows of a user that does not ship (about 15 % at large) fall between
// the two ids around next and return without a search, and an id ahead is
// found by galloping from next: a binary search over the 2.5 M ids of large
// missed the cache at every step for each such row.
func (m *uidxOf) find(id int64) int32 {
	ids, j := m.ids, m.next
	if j < len(ids) && ids[j] == id {
		m.next = j + 1
		return int32(j)
	}
	if j > 0 && j <= len(ids) && ids[j-1] == id {
		return int32(j - 1)
	}
	lo, hi := 0, len(ids)
	if j == 0 || ids[j-1] < id {
		if j == len(ids) || id < ids[j] {
			return -1 // between two shipping users, as the previous absent id was
		}
		// ids[j] < id: gallop ahead for the first id >= id, keeping
		// ids[lo-1] < id.
		lo = j + 1
		step := 1
		for lo+step-1 < len(ids) && ids[lo+step-1] < id {
			lo += step
			step *= 2
		}
		hi = min(lo+step, len(ids))
	}
	k, ok := slices.BinarySearch(ids[lo:hi], id)
	j = lo + k
	if !ok {
		m.next = j
		return -1
	}
	m.next = j + 1
	return int32(j)
}

// uidxParts collects a user_id column as uidx parts, -1 for the users that
// do not ship in the horizon (csrPositions drops them).
func uidxParts(dst *chunked[int32], ids []int64) sink {
	m := &uidxOf{ids: ids}
	return func(name string, a arrow.Array) error {
		v, err := appendInt64(make([]int64, 0, a.Len()), name, a)
		if err != nil {
			return err
		}
		out := make([]int32, len(v))
		for i, id := range v {
			out[i] = m.find(id)
		}
		dst.push(out)
		return nil
	}
}
