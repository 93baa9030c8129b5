package results

import (
	"cmp"
	"slices"

	"github.com/assign-dev/assign/engine"
)

// DateCount is one ship date of a result as the run summary, the manifest
// and a shard's part count it.
type DateCount struct {
	// Users is the number of users who ship on the date.
	Users int
	// Boxes is the number of boxes holding at least one snack.
	Boxes int
	// ShortBoxes is the number of boxes with fewer snacks than the user's
	// box size, empty ones included (see IsShort).
	ShortBoxes int
	// Lines is the number of snacks in the date's boxes.
	Lines int64
	// Demand is the units the date's boxes asked for; Shortage the part of
	// it that stock did not cover (0 when res carries no coverage).
	Demand, Shortage int64
}

// IsShort is the short-box rule: a box is short when it holds fewer snacks
// than the user's box size.
func IsShort(filled, boxSize int32) bool { return filled < boxSize }

// CountDate counts date di of res.
func CountDate(res *engine.Result, di int) DateCount {
	in := res.Inputs
	date := res.Dates[di]
	c := DateCount{Users: len(date.Users)}
	for i, u := range date.Users {
		if date.Filled[i] > 0 {
			c.Boxes++
		}
		if IsShort(date.Filled[i], in.BoxSize[u]) {
			c.ShortBoxes++
		}
		c.Lines += int64(date.Filled[i])
	}
	for s, n := range res.Demand[di] {
		c.Demand += int64(n)
		if di < len(res.Covered) {
			c.Shortage += int64(n - res.Covered[di][s])
		}
	}
	return c
}

// TopShortages returns the snacks (by sidx) that demand exceeded over the
// horizon, the largest shortage first (ties: lower snack_id), at most n.
func TopShortages(res *engine.Result, tot []SnackTotals, n int) []int {
	idx := make([]int, 0, len(tot))
	for s, t := range tot {
		if t.Shortage > 0 {
			idx = append(idx, s)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(tot[b].Shortage, tot[a].Shortage); c != 0 {
			return c
		}
		return cmp.Compare(res.Inputs.SnackID[a], res.Inputs.SnackID[b])
	})
	if len(idx) > n {
		idx = idx[:n]
	}
	return idx
}

// ShortageRow is one line of the summary's "Top snacks by shortage" table,
// as the human summary prints it and --json carries it.
type ShortageRow struct {
	SnackID     int64  `json:"snack_id"`
	Category    string `json:"category"`
	Demand      int64  `json:"demand"`
	StockUsable int64  `json:"stock_usable"`
	Covered     int64  `json:"covered"`
	Shortage    int64  `json:"shortage"`
}

// TopShortageRows is TopShortages as table rows (never nil, so JSON shows
// an empty list rather than null).
func TopShortageRows(res *engine.Result, n int) []ShortageRow {
	in := res.Inputs
	tot := Totals(res)
	rows := []ShortageRow{}
	for _, s := range TopShortages(res, tot, n) {
		t := tot[s]
		rows = append(rows, ShortageRow{SnackID: in.SnackID[s], Category: in.Categories[in.SnackCat[s]],
			Demand: t.Demand, StockUsable: t.StockUsable, Covered: t.Covered, Shortage: t.Shortage})
	}
	return rows
}
