package naive

// lot is one stock row; left is what remains after earlier consumption.
type lot struct {
	snack      int64
	id         string
	quantity   int
	left       int
	bestBefore Day
}

// usable reports whether the lot may ship on d: best_before >= d + min_shelf_days.
func (l *lot) usable(d Day, minShelfDays int) bool {
	return l.bestBefore >= d+Day(minShelfDays)
}

// stockTable is the in-memory lot table; each snack's lots are in FEFO order.
type stockTable struct {
	lots         map[int64][]*lot
	minShelfDays int
}

// usableLeft is the usable stock of s on d not yet consumed.
func (t *stockTable) usableLeft(s int64, d Day) int {
	n := 0
	for _, l := range t.lots[s] {
		if l.usable(d, t.minShelfDays) {
			n += l.left
		}
	}
	return n
}

// usableInitial is the total quantity of s's lots usable on d before any
// consumption (snack_summary.stock_usable with d = D0).
func (t *stockTable) usableInitial(s int64, d Day) int {
	n := 0
	for _, l := range t.lots[s] {
		if l.usable(d, t.minShelfDays) {
			n += l.quantity
		}
	}
	return n
}

// take consumes up to n units of s FEFO from lots usable on d, passing over
// empty lots, and returns the units taken and the lot of each unit.
func (t *stockTable) take(s int64, d Day, n int) (int, []string) {
	taken := 0
	var from []string
	for _, l := range t.lots[s] {
		if taken == n {
			break
		}
		if !l.usable(d, t.minShelfDays) || l.left <= 0 {
			continue
		}
		k := min(l.left, n-taken)
		l.left -= k
		taken += k
		for range k {
			from = append(from, l.id)
		}
	}
	return taken, from
}
