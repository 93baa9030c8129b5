package engine

import (
	"cmp"
	"fmt"
	"slices"

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
func loadCalendar(q queryFunc, in *Inputs, dend Day, filter string) error {
	var ids []int64
	var box, cadence []int32
	var next []Day
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
	type userDay struct {
		id  int64
		day Day
	}
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
	sk := 0 // the first skip not before the current user's next date
	order := make([]int32, len(ids))
	for i := range order {
		order[i] = int32(i)
	}
	if !slices.IsSorted(ids) {
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
	d0 := in.D0
	in.UserID, in.BoxSize = make([]int64, 0, len(ids)), make([]int32, 0, len(ids))
	in.ShipStart, in.ShipDay = make([]int32, 1, len(ids)+1), make([]Day, 0, len(ids))
	for k, i := range order {
		id := ids[i]
		if k > 0 && ids[order[k-1]] == id {
			return fmt.Errorf("engine input inputs_calendar: user %d has two rows (users.user_id must be unique)", id)
		}
		c := Day(cadence[i])
		if c <= 0 {
			// No schedule (the loader allows 1..90 only; SQL's integer
			// division by zero is NULL, which ships nothing either).
			continue
		}
		first := next[i]
		if first < d0 {
			first += (d0 - first + c - 1) / c * c
		}
		for sk < len(skips) && skips[sk].id < id {
			sk++
		}
		n := len(in.ShipDay)
		for d := first; d <= dend; d += c {
			for sk < len(skips) && skips[sk].id == id && skips[sk].day < d {
				sk++
			}
			if sk < len(skips) && skips[sk] == (userDay{id, d}) {
				continue // skipped
			}
			in.ShipDay = append(in.ShipDay, d)
		}
		if len(in.ShipDay) > n {
			in.UserID = append(in.UserID, id)
			in.BoxSize = append(in.BoxSize, box[i])
			in.ShipStart = append(in.ShipStart, int32(len(in.ShipDay)))
		}
	}
	return nil
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
