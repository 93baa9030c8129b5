package synth

import (
	"fmt"
	"strings"
)

// Scale is one size of generated extract. Users, Snacks, Categories and
// StockSnacks are exact; Deliveries, Ratings and StockLots are the targets
// the generator's distributions are tuned to hit (within about 10%), so
// readers such as the benchmark harness can size work before generating.
type Scale struct {
	// Name is what --scale takes.
	Name string
	// Users is the number of rows of users (exact).
	Users int
	// Snacks is the number of rows of snacks (exact).
	Snacks int
	// Categories is the number of distinct snack categories (exact, 10..20).
	Categories int
	// Deliveries is the approximate number of rows of deliveries.
	Deliveries int64
	// Ratings is the approximate number of rows of ratings.
	Ratings int64
	// StockLots is the approximate number of rows of stock.
	StockLots int
	// Hidden scales are for tests and are not listed in help.
	Hidden bool
}

// Scales is the scale table of SPEC section 6, smallest first, plus hidden
// scales: "tiny" for the tests, and after large the sizes of the
// benchmark's scaling study.
var Scales = []Scale{
	{Name: "tiny", Users: 600, Snacks: 80, Categories: 10, Deliveries: 26_000, Ratings: 12_500, StockLots: 270, Hidden: true},
	{Name: "small", Users: 10_000, Snacks: 300, Categories: 12, Deliveries: 500_000, Ratings: 260_000, StockLots: 1_000},
	{Name: "medium", Users: 300_000, Snacks: 1_500, Categories: 16, Deliveries: 15_000_000, Ratings: 7_800_000, StockLots: 5_000},
	{Name: "large", Users: 3_000_000, Snacks: 3_000, Categories: 20, Deliveries: 150_000_000, Ratings: 78_000_000, StockLots: 10_000},
	// Hidden scales for the benchmark's scaling study (benchmarks/RESULTS.md):
	// users from 30k to 1M at medium's catalogue, and snacks from 500 to
	// 3,000 at 100k users, so cost can be read against one size at a time.
	{Name: "u30k", Users: 30_000, Snacks: 1_500, Categories: 16, Deliveries: 1_500_000, Ratings: 780_000, StockLots: 5_000, Hidden: true},
	{Name: "u100k", Users: 100_000, Snacks: 1_500, Categories: 16, Deliveries: 5_000_000, Ratings: 2_600_000, StockLots: 5_000, Hidden: true},
	{Name: "u1m", Users: 1_000_000, Snacks: 1_500, Categories: 16, Deliveries: 50_000_000, Ratings: 26_000_000, StockLots: 5_000, Hidden: true},
	{Name: "u100k-s500", Users: 100_000, Snacks: 500, Categories: 16, Deliveries: 5_000_000, Ratings: 2_600_000, StockLots: 1_700, Hidden: true},
	{Name: "u100k-s3000", Users: 100_000, Snacks: 3_000, Categories: 16, Deliveries: 5_000_000, Ratings: 2_600_000, StockLots: 10_000, Hidden: true},
	// Ten million users at large's catalogue: beyond one machine's memory
	// for a single job, the sharding benchmark plans it in shards.
	{Name: "u10m", Users: 10_000_000, Snacks: 3_000, Categories: 20, Deliveries: 500_000_000, Ratings: 260_000_000, StockLots: 10_000, Hidden: true},
}

// LookupScale returns the scale named name (case-insensitive).
func LookupScale(name string) (Scale, error) {
	for _, s := range Scales {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
	}
	return Scale{}, fmt.Errorf("unknown scale %q: use one of %s", name, strings.Join(ScaleNames(), ", "))
}

// ScaleNames lists the public scale names, smallest first.
func ScaleNames() []string {
	var names []string
	for _, s := range Scales {
		if !s.Hidden {
			names = append(names, s.Name)
		}
	}
	return names
}
