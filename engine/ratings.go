package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	queries "github.com/assign-dev/assign/sql"
)

// The rating inputs (popularity counts per snack, affinity counts per
// shipping user and category, never-again pairs) all come from the latest
// rating of every (user, snack) pair. A snapshot that stores the derived
// tables (see derive.go) answers them with small queries. Without them,
// computing the latest ratings in SQL is a hash aggregate with one group
// per pair (8 million at the medium scale, 3 to 5 s of CPU on two cores,
// plus the tables built from it). The engine instead reads every rating
// once as (user index, snack index and rating, latest key), placing each
// row in its user's slot (rows counted per user beforehand), and keeps each
// user's latest rating per snack with a per-snack stamp: linear work,
// whatever order the table holds its rows in.

// foldRatingsEnabled lets tests force the SQL path.
var foldRatingsEnabled = true

// ratingFold is the state of one fold.
type ratingFold struct {
	in         *Inputs
	neverAgain int32

	cur    int32
	stamp  []int32 // per sidx: cur when key/rating hold this user's latest
	key    []int64
	rating []int32
	rated  []int32 // sidx the current user rated

	catN   []int32
	catSum []int64
	cats   []int32
}

// foldRatings fills PopN, PopSum and the affinity and never-again CSR
// arrays of in from one scan of ratings.
func foldRatings(ctx context.Context, db DB, in *Inputs, neverAgain int, q queryFunc) error {
	if _, err := db.Exec(ctx, queries.Get("inputs_rating_users")); err != nil {
		return fmt.Errorf("engine input inputs_rating_users: %w", err)
	}
	// Rating users are numbered in user_id order, and so are the shipping
	// users: shipOf maps the one to the other.
	var counts []int32
	if err := q("inputs_rating_users_counts", nil, i32(&counts)); err != nil {
		return err
	}
	shipOf := make([]int32, len(counts))
	for i := range shipOf {
		shipOf[i] = -1
	}
	var rix, uidx []int32
	if err := q("inputs_rating_users_shipping", nil, i32(&rix), i32(&uidx)); err != nil {
		return err
	}
	for i, r := range rix {
		if r < 0 || int(r) >= len(shipOf) {
			return fmt.Errorf("engine input inputs_rating_users_shipping: index %d outside 0..%d", r, len(shipOf)-1)
		}
		shipOf[r] = uidx[i]
	}

	// Every rating goes straight to its user's slot (counted above), so
	// the scan is held once, at 12 bytes a rating.
	start := countsToStart(counts)
	sr, key := make([]int32, start[len(counts)]), make([]int64, start[len(counts)])
	if err := placeRatings(ctx, db, start, sr, key); err != nil {
		return fmt.Errorf("engine input inputs_ratings_scan: %w", err)
	}

	nS, nC := in.NumSnacks(), len(in.Categories)
	f := &ratingFold{
		in: in, neverAgain: int32(neverAgain),
		stamp: make([]int32, nS), key: make([]int64, nS), rating: make([]int32, nS),
		catN: make([]int32, nC), catSum: make([]int64, nC),
	}
	// Size the outputs once: a shipping user has at most one affinity row
	// per category it rated, and never-again rows are a minority of its
	// ratings (they grow past the guess if not).
	var affCap, shipRows int
	for r, u := range shipOf {
		if u >= 0 {
			n := int(start[r+1] - start[r])
			affCap += min(n, nC)
			shipRows += n
		}
	}
	in.PopN, in.PopSum = make([]int64, nS), make([]int64, nS)
	in.AffStart = make([]int32, 1, in.NumUsers()+1)
	in.BadStart = make([]int32, 1, in.NumUsers()+1)
	in.AffCat, in.AffN, in.AffSum = make([]int32, 0, affCap), make([]int32, 0, affCap), make([]int64, 0, affCap)
	in.BadSnack, in.BadRating = make([]int32, 0, shipRows/4), make([]int32, 0, shipRows/4)
	next := int32(0) // first shipping user whose CSR rows are still open
	for r := range shipOf {
		u := shipOf[r]
		for u >= 0 && next < u {
			f.closeUser()
			next++
		}
		f.user(sr[start[r]:start[r+1]], key[start[r]:start[r+1]], u)
		if u >= 0 {
			f.closeUser()
			next++
		}
	}
	for ; next < int32(in.NumUsers()); next++ {
		f.closeUser()
	}
	return nil
}

// user folds one user's ratings (sidx*8+rating, latest key): the latest
// rating of each snack counts for popularity and, when the user ships
// (u >= 0), for affinity and never-again.
func (f *ratingFold) user(sr []int32, key []int64, u int32) {
	in := f.in
	f.cur++
	f.rated = f.rated[:0]
	for i, v := range sr {
		if v < 0 {
			continue // a snack missing from snacks: no category, no popularity row
		}
		s, r := v>>3, v&7
		if f.stamp[s] != f.cur {
			f.stamp[s], f.key[s], f.rating[s] = f.cur, key[i], r
			f.rated = append(f.rated, s)
		} else if key[i] > f.key[s] {
			f.key[s], f.rating[s] = key[i], r
		}
	}
	for _, s := range f.rated {
		in.PopN[s]++
		in.PopSum[s] += int64(f.rating[s])
	}
	if u < 0 {
		return
	}
	f.cats = f.cats[:0]
	for _, s := range f.rated {
		r := f.rating[s]
		c := in.SnackCat[s]
		if f.catN[c] == 0 {
			f.cats = append(f.cats, c)
		}
		f.catN[c]++
		f.catSum[c] += int64(r)
		if r <= f.neverAgain {
			in.BadSnack = append(in.BadSnack, s)
			in.BadRating = append(in.BadRating, r)
		}
	}
	slices.Sort(f.cats)
	for _, c := range f.cats {
		in.AffCat = append(in.AffCat, c)
		in.AffN = append(in.AffN, f.catN[c])
		in.AffSum = append(in.AffSum, f.catSum[c])
		f.catN[c], f.catSum[c] = 0, 0
	}
}

// closeUser ends the CSR rows of the next shipping user.
func (f *ratingFold) closeUser() {
	f.in.AffStart = append(f.in.AffStart, int32(len(f.in.AffCat)))
	f.in.BadStart = append(f.in.BadStart, int32(len(f.in.BadSnack)))
}

// placeRatings reads inputs_ratings_scan into sr and key, each row at its
// rating user's next slot.
func placeRatings(ctx context.Context, db DB, start []int32, sr []int32, key []int64) error {
	n := len(start) - 1
	next := slices.Clone(start[:n])
	var rix, v []int32
	var k []int64
	err := db.QueryArrow(ctx, queries.Get("inputs_ratings_scan"), func(rec arrow.RecordBatch) error {
		if rec.NumCols() != 3 {
			return fmt.Errorf("%d columns, want 3", rec.NumCols())
		}
		var err error
		if rix, err = appendInt32(rix[:0], rec.ColumnName(0), rec.Column(0)); err != nil {
			return err
		}
		if v, err = appendInt32(v[:0], rec.ColumnName(1), rec.Column(1)); err != nil {
			return err
		}
		if k, err = appendInt64(k[:0], rec.ColumnName(2), rec.Column(2)); err != nil {
			return err
		}
		for i, r := range rix {
			if r < 0 || int(r) >= n {
				return fmt.Errorf("index %d outside 0..%d", r, n-1)
			}
			p := next[r]
			if p >= start[r+1] {
				return fmt.Errorf("more ratings of rating user %d than counted", r)
			}
			sr[p], key[p] = v[i], k[i]
			next[r]++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for r := range next {
		if next[r] != start[r+1] {
			return fmt.Errorf("fewer ratings of rating user %d than counted", r)
		}
	}
	return nil
}
