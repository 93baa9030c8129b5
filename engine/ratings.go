package engine

import (
	"context"
	"fmt"
	"slices"

	queries "github.com/assign-dev/assign/sql"
)

// The rating inputs (popularity counts per snack, affinity counts per
// shipping user and category, never-again pairs) all come from the latest
// rating of every (user, snack) pair. A snapshot that stores the derived
// tables (see derive.go) answers them with small queries. Without them,
// computing the latest ratings in SQL is a hash aggregate with one group
// per pair (8 million at the medium scale, 3 to 5 s of CPU on two cores,
// plus the tables built from it). The engine instead reads every rating
// once as (user index, snack index and rating, latest key), groups the rows
// by user with a counting sort, and keeps each user's latest rating per
// snack with a per-snack stamp: linear work, whatever order the table holds
// its rows in.

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
	var nR []int64
	if err := q("inputs_rating_users_count", nil, i64(&nR)); err != nil {
		return err
	}
	if len(nR) != 1 {
		return fmt.Errorf("engine input inputs_rating_users_count: %d rows, want 1", len(nR))
	}
	shipOf := make([]int32, nR[0])
	for i := range shipOf {
		shipOf[i] = -1
	}
	var rix, uidx []int32
	if err := q("inputs_rating_users_shipping", nil, i32(&rix), i32(&uidx)); err != nil {
		return err
	}
	for i, r := range rix {
		shipOf[r] = uidx[i]
	}

	var users, snackRating chunked[int32]
	var keys chunked[int64]
	if err := q("inputs_ratings_scan", nil, int32Parts(&users), int32Parts(&snackRating), int64Parts(&keys)); err != nil {
		return err
	}
	start, pos, err := csrPositions(len(shipOf), &users)
	if err != nil {
		return fmt.Errorf("engine input inputs_ratings_scan: %w", err)
	}
	sr, key := scatter(&snackRating, pos), scatter(&keys, pos)
	pos = nil

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
