package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// categoryNames are the snack categories; a scale uses the first
// Scale.Categories of them.
var categoryNames = []string{
	"chips", "chocolate", "cookies", "crackers", "nuts", "dried fruit", "jerky",
	"popcorn", "pretzels", "gummies", "granola bars", "protein bars", "hard candy",
	"rice crackers", "seaweed", "trail mix", "wafers", "mochi", "licorice", "biscotti",
}

// categoryNouns name a snack of the category ("Smoky Paprika Chips").
var categoryNouns = map[string][]string{
	"chips": {"Chips", "Crisps"}, "chocolate": {"Chocolate Bar", "Truffles", "Chocolate Bites"},
	"cookies": {"Cookies", "Shortbread"}, "crackers": {"Crackers", "Thins"},
	"nuts": {"Almonds", "Cashews", "Peanuts", "Mixed Nuts"}, "dried fruit": {"Dried Mango", "Apricots", "Fruit Chips"},
	"jerky": {"Jerky", "Meat Sticks"}, "popcorn": {"Popcorn", "Kettle Corn"}, "pretzels": {"Pretzels", "Pretzel Bites"},
	"gummies": {"Gummies", "Gummy Bears", "Sour Worms"}, "granola bars": {"Granola Bar", "Oat Bar"},
	"protein bars": {"Protein Bar", "Protein Bites"}, "hard candy": {"Drops", "Lollies"},
	"rice crackers": {"Rice Crackers", "Senbei"}, "seaweed": {"Seaweed Snack", "Nori Crisps"},
	"trail mix": {"Trail Mix", "Snack Mix"}, "wafers": {"Wafers", "Wafer Rolls"}, "mochi": {"Mochi", "Daifuku"},
	"licorice": {"Licorice", "Licorice Twists"}, "biscotti": {"Biscotti", "Cantucci"},
}

var brandNames = []string{
	"Crunchwell", "Nibble & Co", "Happy Hollow", "Tidewater", "Old Mill", "Sunny Side", "Brightleaf",
	"Kettle Creek", "Moonbake", "Little Fox", "Red Barn", "Saltmarsh", "Bluebird", "Copper Pot",
	"Wildflower", "North Shore", "Maple Row", "Pebble", "Foxglove", "Harbor", "Juniper", "Cobble",
	"Tanuki", "Nordic Bakehouse", "Casa Dulce", "Alpine Ridge", "Lotus Garden", "Prairie Gold",
}

var flavorNames = []string{
	"Sea Salt", "Smoky Paprika", "Honey Mustard", "Dark Cacao", "Salted Caramel", "Chili Lime",
	"Matcha", "Black Pepper", "Wasabi", "Sour Cherry", "Vanilla Bean", "Maple", "Cinnamon Sugar",
	"Sweet Onion", "Truffle", "Yuzu", "Mango Habanero", "Coconut", "Espresso", "Raspberry",
	"Garlic Herb", "Sesame Ginger", "Blueberry", "Lemon Zest", "Peanut Butter", "Hazelnut",
	"Sriracha", "Rosemary", "Toffee", "Mint", "Pumpkin Spice", "Original", "Barbecue", "Cheddar",
}

// tagNames are the ~30 ingredient and property tags snacks carry and users
// exclude. ngWeight is how often users exclude each one (peanut and gluten
// far more often than mint).
var tagNames = []string{
	"peanut", "gluten", "dairy", "tree-nut", "spicy", "soy", "egg", "pork", "alcohol", "shellfish",
	"fish", "sesame", "caffeine", "gelatin", "added-sugar", "beef", "coconut", "corn", "mustard",
	"celery", "sulfites", "palm-oil", "artificial-colors", "sugar-alcohols", "honey", "msg",
	"garlic", "onion", "cinnamon", "mint",
}

var ngWeight = []float64{
	10, 9, 8, 6, 6, 4, 3, 3, 3, 2,
	2, 2, 2, 2, 2, 1.5, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1,
	1, 1, 0.5, 0.5,
}

// categoryTags are the tags typical of a category: a snack of the category
// draws them six times as often as other tags.
var categoryTags = map[string][]string{
	"chips": {"spicy", "corn", "onion", "garlic", "palm-oil"}, "chocolate": {"dairy", "soy", "caffeine", "tree-nut", "added-sugar"},
	"cookies": {"gluten", "dairy", "egg", "added-sugar"}, "crackers": {"gluten", "sesame", "garlic"},
	"nuts": {"peanut", "tree-nut", "honey"}, "dried fruit": {"sulfites", "added-sugar"},
	"jerky": {"beef", "pork", "spicy", "soy", "garlic", "msg"}, "popcorn": {"corn", "dairy", "palm-oil"},
	"pretzels": {"gluten", "mustard"}, "gummies": {"gelatin", "artificial-colors", "added-sugar"},
	"granola bars": {"gluten", "honey", "tree-nut", "peanut"}, "protein bars": {"dairy", "soy", "sugar-alcohols", "peanut"},
	"hard candy": {"artificial-colors", "added-sugar", "mint"}, "rice crackers": {"soy", "sesame", "fish"},
	"seaweed": {"fish", "shellfish", "sesame", "msg"}, "trail mix": {"peanut", "tree-nut", "dairy"},
	"wafers": {"gluten", "dairy", "palm-oil"}, "mochi": {"egg", "dairy"},
	"licorice": {"gluten", "artificial-colors"}, "biscotti": {"gluten", "egg", "tree-nut", "alcohol"},
}

// snack is one generated snack with the latent traits the user generator
// draws from.
type snack struct {
	id       int64
	name     string
	cat      int32
	launched int32 // day
	retired  int32 // first day it is no longer sold (math.MaxInt32 if active)
	active   bool
	tags     []int32
	tagMask  uint32
	weight   float64 // Zipf popularity weight
	quality  float64 // latent quality, shifts every user's ratings
}

// catalog is the user-independent part of an extract: categories, tags and
// snacks, plus sampling tables.
type catalog struct {
	asOf       int32
	categories []string
	tags       []string
	snacks     []snack
	// catSnacks[c] lists the snack indexes of category c; catAlias[c]
	// samples them by Zipf weight in constant time (the hot draw).
	catSnacks [][]int32
	catAlias  []alias
	catMass   []float64
	ngCum     []float64 // cumulative ngWeight
	// order[c] ranks the snacks of category c the way the engine's score
	// roughly will (expected popularity plus novelty on as-of), for the
	// demand estimate that sizes stock.
	order [][]int32
	base  []float64 // per snack: expected w_popularity*popn + w_novelty*novelty
}

// Snack ids start at 1001 and user ids at 100001 so the two never overlap:
// a join on the wrong column finds nothing instead of something plausible.
const (
	firstSnackID = 1001
	firstUserID  = 100001
)

func newCatalog(seed int64, sc Scale, asOf int32) *catalog {
	r := rand.New(rand.NewPCG(mix64(uint64(seed)^0x5eed_cafe), mix64(uint64(seed)+0x0ca7_a10c)))
	c := &catalog{asOf: asOf, categories: categoryNames[:sc.Categories], tags: tagNames}
	tagIdx := map[string]int32{}
	for i, t := range tagNames {
		tagIdx[t] = int32(i)
	}
	nc := len(c.categories)

	// Category sizes vary: some categories are broad (chips), some niche.
	catSize := make([]float64, nc)
	for i := range catSize {
		catSize[i] = 0.4 + r.Float64()*1.6
	}
	catCum := cumulative(catSize)

	n := sc.Snacks
	rank := r.Perm(n)
	names := map[string]bool{}
	c.snacks = make([]snack, n)
	for i := range c.snacks {
		s := &c.snacks[i]
		s.id = int64(firstSnackID + i)
		// Every category gets at least one snack, the rest by size.
		if i < nc {
			s.cat = int32(i)
		} else {
			s.cat = int32(pick(r, catCum))
		}
		s.weight = 1 / math.Pow(float64(rank[i]+1), 0.8)
		// Popular snacks are rated better: quality leans on the rank.
		s.quality = 0.45*(1-2*float64(rank[i])/float64(n)) + 0.55*r.NormFloat64()
		s.name = snackName(r, names, c.categories[s.cat])
		s.launched = asOf - 30 - int32(r.IntN(3*365-30))
		s.retired = math.MaxInt32
		s.active = true
	}
	// A handful launched within the last 30 days (new on as-of) and a
	// handful not launched yet, most of them inside a 28-day horizon.
	nNew := 3 + n/300
	nSoon := 2 + n/600
	perm := r.Perm(n)
	for j, i := range perm[:nNew+nSoon] {
		s := &c.snacks[i]
		if j < nNew {
			s.launched = asOf - int32(r.IntN(30))
		} else {
			s.launched = asOf + 1 + int32(r.IntN(27))
			if j == nNew+nSoon-1 {
				s.launched = asOf + 30 + int32(r.IntN(30))
			}
		}
	}
	// About 10% discontinued, taken from snacks launched over 180 days ago.
	for _, i := range perm[nNew+nSoon:] {
		s := &c.snacks[i]
		if s.launched < asOf-180 && r.Float64() < 0.1/0.85 {
			s.active = false
			s.retired = s.launched + 60 + int32(r.IntN(int(asOf-s.launched-60)))
		}
	}
	// Tags: 0-4 per snack, typical tags of the category favoured.
	tagCountCum := cumulative([]float64{0.2, 0.3, 0.25, 0.15, 0.1})
	w := make([]float64, len(tagNames))
	for i := range c.snacks {
		s := &c.snacks[i]
		for t := range w {
			w[t] = 1
		}
		for _, t := range categoryTags[c.categories[s.cat]] {
			w[tagIdx[t]] = 6
		}
		k := pick(r, tagCountCum)
		for range k {
			t := pick(r, cumulative(w))
			w[t] = 0
			s.tags = append(s.tags, int32(t))
			s.tagMask |= 1 << uint(t)
		}
		slices.Sort(s.tags)
	}

	c.catSnacks = make([][]int32, nc)
	for i := range c.snacks {
		c.catSnacks[c.snacks[i].cat] = append(c.catSnacks[c.snacks[i].cat], int32(i))
	}
	c.catAlias = make([]alias, nc)
	c.catMass = make([]float64, nc)
	for ci, list := range c.catSnacks {
		ws := make([]float64, len(list))
		for j, si := range list {
			ws[j] = c.snacks[si].weight
			c.catMass[ci] += ws[j]
		}
		c.catAlias[ci] = newAlias(ws)
	}
	c.ngCum = cumulative(ngWeight)

	// The engine's popularity shrinks a snack's mean rating towards the
	// mean of all ratings by its rating count (prior weight 20), so the
	// estimate needs the expected count: the snack's share of draws times
	// how much of the delivery history it was on sale for (history thins
	// out backwards like the tenure distribution).
	avail := make([]float64, n)
	total := 0.0
	for i := range c.snacks {
		s := &c.snacks[i]
		// Ratings come about a week after the box (see rate).
		from := float64(asOf-s.launched) - ratingLagDays
		to := 0.0
		if !s.active {
			to = float64(asOf-s.retired) - ratingLagDays
		}
		if from > to {
			avail[i] = s.weight * (math.Exp(-to/tenureMeanDays) - math.Exp(-from/tenureMeanDays))
		}
		total += avail[i]
	}
	c.base = make([]float64, n)
	for i := range c.snacks {
		s := &c.snacks[i]
		ns := float64(sc.Ratings) * avail[i] / total
		pop := (ns*expectedRating(s.quality) + priorWeight*meanRating) / (ns + priorWeight)
		nov := 0.0
		if s.launched < asOf+28 && asOf-s.launched < 30 { // new on some date of a 28-day horizon
			nov = 1
		}
		c.base[i] = (pop-1)/4 + 0.3*nov
	}
	c.order = make([][]int32, nc)
	for ci, list := range c.catSnacks {
		o := slices.Clone(list)
		slices.SortStableFunc(o, func(a, b int32) int {
			if c.base[a] != c.base[b] {
				if c.base[a] > c.base[b] {
					return -1
				}
				return 1
			}
			return int(a - b)
		})
		c.order[ci] = o
	}
	return c
}

// snackName draws "Brand Flavor Noun" names, unique within the catalog.
func snackName(r *rand.Rand, used map[string]bool, category string) string {
	nouns := categoryNouns[category]
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s %s %s", brandNames[r.IntN(len(brandNames))], flavorNames[r.IntN(len(flavorNames))], nouns[r.IntN(len(nouns))])
		if i > 20 {
			name = fmt.Sprintf("%s No. %d", name, i)
		}
		if !used[name] {
			used[name] = true
			return name
		}
	}
}

// meanRating is about the mean of all generated ratings (the engine's C):
// deliveries lean towards liked categories, so it lies above ratingMean.
const meanRating = 3.6

// priorWeight is the policy's popularity shrinkage m.
const priorWeight = 20

// ratingLagDays is the typical delay from a box to its ratings.
const ratingLagDays = 7

// expectedRating is the mean rating of a snack of this quality by a typical
// rater (see rate), used only to rank snacks for the stock estimate.
func expectedRating(q float64) float64 {
	return min(5, max(1, ratingMean+ratingQuality*q))
}

// cumulative returns the running sums of w.
func cumulative(w []float64) []float64 {
	out := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		out[i] = s
	}
	return out
}

// pick draws an index with probability proportional to its weight, given
// cumulative weights.
func pick(r *rand.Rand, cum []float64) int {
	// The first index whose running sum exceeds x: zero-weight entries are
	// never drawn.
	x := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// alias is Vose's alias table: a draw by weight in constant time.
type alias struct {
	prob  []float64
	other []int32
}

func newAlias(w []float64) alias {
	n := len(w)
	a := alias{prob: make([]float64, n), other: make([]int32, n)}
	total := 0.0
	for _, x := range w {
		total += x
	}
	scaled := make([]float64, n)
	var small, large []int32
	for i, x := range w {
		scaled[i] = x * float64(n) / total
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.prob[s], a.other[s] = scaled[s], l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		a.prob[i], a.other[i] = 1, i // rounding leftovers keep themselves
	}
	return a
}

func (a alias) draw(r *rand.Rand) int {
	x := r.Float64() * float64(len(a.prob))
	i := int(x)
	if i >= len(a.prob) {
		i = len(a.prob) - 1
	}
	if x-float64(i) < a.prob[i] {
		return i
	}
	return int(a.other[i])
}

// mix64 is the splitmix64 finaliser: it spreads seeds and ids over 64 bits so
// neighbouring user ids get unrelated random streams.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
